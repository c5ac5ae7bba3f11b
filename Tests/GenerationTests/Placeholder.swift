import XCTest

final class GenerationPlaceholderTests: XCTestCase {}
