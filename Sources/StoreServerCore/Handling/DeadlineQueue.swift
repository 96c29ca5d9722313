// The deadlines of a connection's requests in flight, earliest first: a binary min-heap, so the
// session needs one timer armed at the earliest deadline instead of one timer per request
// (a timer per request cost about a quarter of the task-based request path's throughput).
// Entries of requests that finished are dropped lazily: when they reach the top, or in a sweep
// once they outnumber the live ones.

struct DeadlineQueue {
    private var heap: [(deadline: UInt64, requestID: UInt64)] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: (deadline: UInt64, requestID: UInt64)? { heap.first }

    mutating func insert(deadline: UInt64, requestID: UInt64) {
        heap.append((deadline, requestID))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func removeEarliest() -> (deadline: UInt64, requestID: UInt64)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let removed = heap.removeLast()
        var parent = 0
        while true {
            let left = parent * 2 + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return removed
    }

    /// Keeps only the entries `isLive` accepts, then restores the heap order. O(n).
    mutating func retain(where isLive: (UInt64) -> Bool) {
        let live = heap.filter { isLive($0.requestID) }
        heap = []
        heap.reserveCapacity(live.count)
        for entry in live { insert(deadline: entry.deadline, requestID: entry.requestID) }
    }
}
