import XCTest

final class VectorIndexTestsPlaceholder: XCTestCase {}
