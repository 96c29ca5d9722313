// The in-process vector index of one collection: a VectorIndex keyed by memory_vectors.id.
import Synchronization
import VectorIndex
import WireProtocol

/// Thread safety: `index` is itself thread-safe; `lateRemovals` is guarded by its Mutex.
final class MemoryIndex: Sendable {
    let collection: MemoryCollection
    let index: VectorIndex
    /// Ids removed before their insert reached the index. Two puts of one item can commit in
    /// one order and reach the index in the other; vector ids are never reused, so an insert
    /// whose id is here was already superseded and is skipped (and the entry consumed).
    private let lateRemovals = Mutex<Set<UInt64>>([])

    init(collection: MemoryCollection, index: VectorIndex) {
        self.collection = collection
        self.index = index
    }

    static func empty(_ collection: MemoryCollection, parameters: HNSWParameters) throws -> MemoryIndex {
        MemoryIndex(collection: collection,
                    index: try VectorIndex(dimension: collection.dimension, metric: collection.metric.distanceMetric,
                                           parameters: parameters))
    }

    /// Applies committed changes. `tracksLateRemovals` is false while loading, when changes
    /// arrive in commit order and a removal of an absent id means nothing. A vector the index
    /// refuses does not stop the others; the first refusal is thrown after all were applied.
    func apply(inserted: [MemoryStoredVector], removed: [UInt64], tracksLateRemovals: Bool = true) throws {
        for id in removed where !index.remove(id: id) && tracksLateRemovals {
            lateRemovals.withLock { _ = $0.insert(id) }
        }
        var firstFailure: (id: UInt64, error: VectorIndexError)?
        for vector in inserted {
            if tracksLateRemovals, lateRemovals.withLock({ $0.remove(vector.id) }) != nil { continue }
            do {
                try index.insert(vector.vector, id: vector.id)
            } catch {
                if firstFailure == nil { firstFailure = (vector.id, error) }
            }
        }
        if let firstFailure {
            throw MemoryIndexInsertError(vectorID: firstFailure.id, underlying: firstFailure.error)
        }
    }

    /// The converted score of a distance: higher is better (see spec §7.4).
    func score(distance: Float) -> Double {
        switch collection.metric {
        case .cosine, .innerProduct: Double(1 - distance)
        case .l2: -Double(max(0, distance)).squareRoot()
        }
    }
}

extension MemoryMetric {
    var distanceMetric: DistanceMetric {
        switch self {
        case .cosine: .cosine
        case .l2: .squaredEuclidean
        case .innerProduct: .innerProduct
        }
    }
}

/// The index refused a committed vector (it stays in PostgreSQL; searches cannot find it).
struct MemoryIndexInsertError: Error, CustomStringConvertible {
    let vectorID: UInt64
    let underlying: VectorIndexError
    var description: String { "vector \(vectorID) refused by the index: \(underlying)" }
}
