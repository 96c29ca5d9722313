import XCTest

final class WireProtocolTestsPlaceholder: XCTestCase {}
