// The in-process vector index of one collection: a VectorIndex keyed by memory_vectors.id.
import Synchronization
import VectorIndex
import WireProtocol

/// Thread safety: `index` is itself thread-safe; `removals` is guarded by its Mutex.
final class MemoryIndex: Sendable {
    let collection: MemoryCollection
    let index: VectorIndex
    /// Ids removed from this index, with the change that removed them (`unknownChange` for a
    /// removal this server made, until the follower reads its tombstone). Vector ids are never
    /// reused, so an insert of an id found here is stale and skipped: a put that reached the
    /// index after the put that replaced it, or a row the follower read before a delete this
    /// server applied. Entries are forgotten once the follow cursor passes their change: no
    /// read at or below it happens again.
    private let removals = Mutex<[UInt64: UInt64]>([:])
    /// Stands for "removed by this server, change not yet read back".
    static let unknownChange = UInt64.max

    init(collection: MemoryCollection, index: VectorIndex) {
        self.collection = collection
        self.index = index
    }

    static func empty(_ collection: MemoryCollection, parameters: HNSWParameters) throws -> MemoryIndex {
        MemoryIndex(collection: collection,
                    index: try VectorIndex(dimension: collection.dimension, metric: collection.metric.distanceMetric,
                                           parameters: parameters))
    }

    /// Applies committed changes, removals first; returns how many changed the index. Both
    /// are idempotent: an id already present is not inserted again (rows never change), an
    /// id removed before is never inserted again. `tracksRemovals` is false while loading,
    /// when changes arrive in commit order from one read. New vectors go in as one batch,
    /// linked on `parallelism` threads. A vector the index refuses does not stop the others;
    /// the first refusal is thrown after all were applied.
    @discardableResult
    func apply(inserted: [MemoryStoredVector], removed: [(id: UInt64, change: UInt64)],
               tracksRemovals: Bool = true, parallelism: Int = 1) throws -> Int {
        var applied = 0
        for removal in removed {
            if index.remove(id: removal.id) { applied += 1 }
            if tracksRemovals {
                removals.withLock { $0[removal.id] = min($0[removal.id] ?? Self.unknownChange, removal.change) }
            }
        }
        var batched = Set<UInt64>()
        let fresh = inserted.filter { vector in
            if index.contains(id: vector.id) || !batched.insert(vector.id).inserted { return false }
            return !tracksRemovals || removals.withLock { $0[vector.id] == nil }
        }
        let refused = index.insert(contentsOf: fresh.map { (id: $0.id, vector: $0.vector) }, parallelism: parallelism)
        applied += fresh.count - refused.count
        if let first = refused.first {
            throw MemoryIndexInsertError(vectorID: first.id, underlying: first.error)
        }
        return applied
    }

    /// Drops removals at or below the follow cursor (see `removals`).
    func forgetRemovals(through change: UInt64) {
        removals.withLock { $0 = $0.filter { $0.value > change } }
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
