import XCTest

final class StoreClientTestsPlaceholder: XCTestCase {}
