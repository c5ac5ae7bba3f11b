import XCTest

final class GPT2PlaceholderTests: XCTestCase {}
