// A cache in this process's memory, bounded by bytes with least-recently-used eviction. It is
// the fallback while Redis is unreachable, and usable alone (tests, single-instance setups).
import Synchronization

/// Thread-safe: all state sits behind one Mutex. get, set and delete are O(1) on average
/// (dictionary plus an intrusive doubly linked list kept in an array); clear(prefix:) is O(n).
public final class InProcessCache: CacheBackend {
    /// Charged per entry on top of key and value bytes, roughly the dictionary slot, list node
    /// and array headers, so that a flood of tiny entries is still bounded in real memory.
    public static let entryOverheadBytes = 64

    /// Total bytes (keys + values + overhead per entry) kept at most.
    public let capacityBytes: Int
    private let now: @Sendable () -> ContinuousClock.Instant
    private let storage: Mutex<LRUStorage>

    /// - Parameter now: the clock; injectable so tests can move time without sleeping.
    public init(capacityBytes: Int,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        precondition(capacityBytes > 0, "a cache needs some capacity")
        self.capacityBytes = capacityBytes
        self.now = now
        self.storage = Mutex(LRUStorage())
    }

    public var health: CacheHealth { .up }

    /// Bytes currently charged, expired entries included until they are evicted or looked up.
    public var totalBytes: Int { storage.withLock { $0.totalBytes } }
    public var count: Int { storage.withLock { $0.index.count } }

    public func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]? { getNow(key) }

    public func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError) {
        try CacheArguments.validate(timeToLive: timeToLive)
        setNow(key, value: value, timeToLive: timeToLive)
    }

    public func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int { deleteNow(keys) }

    public func clear(prefix: [UInt8]) async throws(BackendError) -> Int { clearNow(prefix: prefix) }

    // Synchronous forms, for FallbackCache which calls them while holding its own lock.

    func getNow(_ key: [UInt8]) -> [UInt8]? {
        let instant = now()
        return storage.withLock { $0.value(forKey: key, at: instant) }
    }

    /// `timeToLive` must already be validated.
    func setNow(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) {
        let expiry = timeToLive.map { now() + $0 }
        let capacity = capacityBytes
        storage.withLock { $0.store(value, forKey: key, expiry: expiry, capacityBytes: capacity) }
    }

    func deleteNow(_ keys: [[UInt8]]) -> Int {
        let instant = now()
        return storage.withLock { storage in
            keys.reduce(0) { deleted, key in deleted + (storage.remove(key, at: instant) ? 1 : 0) }
        }
    }

    func clearNow(prefix: [UInt8]) -> Int {
        let instant = now()
        return storage.withLock { storage in
            let keys = storage.index.keys.filter { $0.starts(with: prefix) }
            return keys.reduce(0) { deleted, key in deleted + (storage.remove(key, at: instant) ? 1 : 0) }
        }
    }

    func removeAllNow() {
        storage.withLock { $0 = LRUStorage() }
    }
}

/// The entries and their recency order. Not thread-safe by itself; InProcessCache guards it.
struct LRUStorage {
    struct Node {
        var key: [UInt8]
        var value: [UInt8]
        var expiry: ContinuousClock.Instant?
        /// Towards the most recently used end; -1 at the head.
        var newer: Int
        /// Towards the least recently used end; -1 at the tail.
        var older: Int
        var bytes: Int { key.count + value.count + InProcessCache.entryOverheadBytes }
    }

    var index: [[UInt8]: Int] = [:]
    private var nodes: [Node] = []
    private var freeSlots: [Int] = []
    /// Most recently used.
    private var head = -1
    /// Least recently used: evicted first.
    private var tail = -1
    private(set) var totalBytes = 0

    /// Returns the value and marks it used; an expired entry is removed and never returned.
    mutating func value(forKey key: [UInt8], at now: ContinuousClock.Instant) -> [UInt8]? {
        guard let slot = index[key] else { return nil }
        if let expiry = nodes[slot].expiry, expiry <= now {
            removeSlot(slot)
            return nil
        }
        moveToHead(slot)
        return nodes[slot].value
    }

    mutating func store(_ value: [UInt8], forKey key: [UInt8], expiry: ContinuousClock.Instant?,
                        capacityBytes: Int) {
        // The old value goes first in every case: if the new one cannot be kept, a lookup must
        // miss rather than return the value this write replaced.
        if let slot = index[key] { removeSlot(slot) }
        let node = Node(key: key, value: value, expiry: expiry, newer: -1, older: -1)
        guard node.bytes <= capacityBytes else { return }
        while totalBytes + node.bytes > capacityBytes, tail != -1 {
            removeSlot(tail)
        }
        let slot: Int
        if let free = freeSlots.popLast() {
            nodes[free] = node
            slot = free
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        index[key] = slot
        totalBytes += node.bytes
        linkAtHead(slot)
    }

    /// True when a live (unexpired) entry was removed.
    mutating func remove(_ key: [UInt8], at now: ContinuousClock.Instant) -> Bool {
        guard let slot = index[key] else { return false }
        let wasLive = nodes[slot].expiry.map { $0 > now } ?? true
        removeSlot(slot)
        return wasLive
    }

    private mutating func removeSlot(_ slot: Int) {
        unlink(slot)
        totalBytes -= nodes[slot].bytes
        index[nodes[slot].key] = nil
        // Release the bytes now rather than when the slot is reused.
        nodes[slot].key = []
        nodes[slot].value = []
        freeSlots.append(slot)
    }

    private mutating func moveToHead(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        linkAtHead(slot)
    }

    private mutating func linkAtHead(_ slot: Int) {
        nodes[slot].newer = -1
        nodes[slot].older = head
        if head != -1 { nodes[head].newer = slot }
        head = slot
        if tail == -1 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let newer = nodes[slot].newer
        let older = nodes[slot].older
        if newer != -1 { nodes[newer].older = older } else { head = older }
        if older != -1 { nodes[older].newer = newer } else { tail = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }
}
