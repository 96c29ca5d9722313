// Per-search working memory (visited marks and two heaps), reused across searches.

/// Working memory for one search at a time. A search borrows one from `ScratchPool` so that
/// concurrent searches never share it and no search allocates in the common case.
///
/// `visited` is generation-stamped: a slot is visited when its stamp equals the current
/// generation, so starting a new search is one increment instead of clearing an array.
final class SearchScratch: @unchecked Sendable {
    // @unchecked: owned by exactly one search at a time; ScratchPool's Mutex hands it over.
    var visitedStamps: UnsafeMutablePointer<UInt32>
    var visitedCapacity: Int
    var generation: UInt32 = 0
    var candidates: CandidateHeap
    var results: CandidateHeap
    /// Unvisited neighbours of the node being expanded, and their distances; room for the
    /// longest link list (2·M on level 0).
    let pendingSlots: UnsafeMutablePointer<UInt32>
    let pendingDistances: UnsafeMutablePointer<Float>
    static let pendingCapacity = 2 * VectorIndexLimits.neighborsPerNodeMax
    /// A copy of the list being expanded, taken under `LinkLocks` during a parallel bulk insert
    /// (`[count, neighbour…]`).
    let linkCopy: UnsafeMutablePointer<UInt32>

    init(slotCount: Int) {
        visitedCapacity = max(slotCount, 64)
        visitedStamps = .allocate(capacity: visitedCapacity)
        visitedStamps.initialize(repeating: 0, count: visitedCapacity)
        candidates = CandidateHeap(capacity: 256)
        results = CandidateHeap(capacity: 256)
        pendingSlots = .allocate(capacity: Self.pendingCapacity)
        pendingDistances = .allocate(capacity: Self.pendingCapacity)
        linkCopy = .allocate(capacity: 1 + Self.pendingCapacity)
    }

    deinit {
        visitedStamps.deallocate()
        candidates.deallocate()
        results.deallocate()
        pendingSlots.deallocate()
        pendingDistances.deallocate()
        linkCopy.deallocate()
    }

    /// Starts a search over `slotCount` slots and returns the generation that marks "visited".
    func beginSearch(slotCount: Int) -> UInt32 {
        if slotCount > visitedCapacity {
            visitedStamps.deallocate()
            visitedCapacity = max(slotCount, visitedCapacity * 2)
            visitedStamps = .allocate(capacity: visitedCapacity)
            visitedStamps.initialize(repeating: 0, count: visitedCapacity)
            generation = 0
        }
        if generation == UInt32.max {
            visitedStamps.update(repeating: 0, count: visitedCapacity)
            generation = 0
        }
        generation &+= 1
        candidates.removeAll()
        results.removeAll()
        return generation
    }
}
