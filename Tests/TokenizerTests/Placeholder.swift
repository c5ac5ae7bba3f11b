import XCTest

final class TokenizerPlaceholderTests: XCTestCase {}
