// A binary min-heap of (key, slot) pairs on manually managed memory, for the search loop.

/// One graph node seen by a search: its slot and a key (the distance, or its negation in a
/// max-heap).
struct Candidate {
    var key: Float
    var slot: UInt32
}

/// Min-heap by `key`. A max-heap is the same heap fed negated distances.
///
/// It is a struct over a raw pointer so that the search loop can keep it in a local variable:
/// no copy-on-write uniqueness checks, no bounds checks, no exclusivity checks. The owner
/// (`SearchScratch`) frees the storage; copies share it, so only one copy may be used at a time.
struct CandidateHeap {
    private(set) var storage: UnsafeMutablePointer<Candidate>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// The smallest key; only valid when not empty.
    var top: Candidate { storage[0] }

    mutating func removeAll() { count = 0 }

    mutating func push(_ candidate: Candidate) {
        if count == capacity { grow() }
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            if storage[parent].key <= candidate.key { break }
            storage[child] = storage[parent]
            child = parent
        }
        storage[child] = candidate
    }

    /// Removes and returns the smallest key; only valid when not empty.
    @discardableResult
    mutating func pop() -> Candidate {
        let result = storage[0]
        count &-= 1
        if count > 0 { siftDown(storage[count]) }
        return result
    }

    /// Replaces the top with `candidate` (cheaper than pop then push).
    mutating func replaceTop(_ candidate: Candidate) {
        siftDown(candidate)
    }

    private mutating func siftDown(_ candidate: Candidate) {
        var parent = 0
        let half = count >> 1
        while parent < half {
            var child = 2 &* parent &+ 1
            let right = child &+ 1
            if right < count && storage[right].key < storage[child].key { child = right }
            if candidate.key <= storage[child].key { break }
            storage[parent] = storage[child]
            parent = child
        }
        storage[parent] = candidate
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<Candidate>.allocate(capacity: newCapacity)
        newStorage.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
    }
}
