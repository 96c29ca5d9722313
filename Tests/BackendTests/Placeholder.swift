import XCTest

final class BackendTestsPlaceholder: XCTestCase {}
