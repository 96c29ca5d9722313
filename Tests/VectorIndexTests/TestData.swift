// Seeded random vectors for the index tests, so every run sees the same data.

@testable import VectorIndex

struct TestData {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Components uniform in -1...1.
    mutating func vector(dimension: Int) -> [Float] {
        (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    mutating func vectors(_ count: Int, dimension: Int) -> [[Float]] {
        (0..<count).map { _ in vector(dimension: dimension) }
    }
}

/// Fraction of `expected` ids found in `actual`.
func recall(_ actual: [SearchResult], _ expected: [SearchResult]) -> Double {
    guard !expected.isEmpty else { return 1 }
    let found = Set(actual.map(\.id))
    return Double(expected.filter { found.contains($0.id) }.count) / Double(expected.count)
}
