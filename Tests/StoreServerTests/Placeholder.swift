import XCTest

final class StoreServerTestsPlaceholder: XCTestCase {}
