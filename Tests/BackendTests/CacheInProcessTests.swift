// InProcessCache: TTLs on an injected clock, eviction by bytes in LRU order, prefix clearing.
import Synchronization
import XCTest
@testable import StoreServerCore

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 += duration } }
}

final class CacheInProcessTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testExpiredEntriesAreNeverReturned() async throws {
        let clock = ManualClock()
        let cache = InProcessCache(capacityBytes: 1 << 20, now: { clock.now })
        try await cache.set(bytes("short"), value: bytes("v"), timeToLive: .milliseconds(200))
        try await cache.set(bytes("forever"), value: bytes("v"), timeToLive: nil)
        clock.advance(by: .milliseconds(199))
        let before = try await cache.get(bytes("short"))
        XCTAssertEqual(before, bytes("v"))
        clock.advance(by: .milliseconds(1))
        let after = try await cache.get(bytes("short"))
        XCTAssertNil(after)
        let deletedExpired = try await cache.delete([bytes("short")])
        XCTAssertEqual(deletedExpired, 0)
        clock.advance(by: .seconds(3600))
        let forever = try await cache.get(bytes("forever"))
        XCTAssertEqual(forever, bytes("v"))
    }

    func testTimeToLiveExpiresInRealTime() async throws {
        let cache = InProcessCache(capacityBytes: 1 << 20)
        try await cache.set(bytes("k"), value: bytes("v"), timeToLive: .milliseconds(1000))
        try await Task.sleep(for: .milliseconds(1500))
        let value = try await cache.get(bytes("k"))
        XCTAssertNil(value)
    }

    func testEvictsLeastRecentlyUsedByBytes() async throws {
        let entry = 100  // key 4 bytes + value 32 bytes + 64 overhead
        XCTAssertEqual(4 + 32 + InProcessCache.entryOverheadBytes, entry)
        let cache = InProcessCache(capacityBytes: entry * 3)
        let value = [UInt8](repeating: 7, count: 32)
        for name in ["key1", "key2", "key3"] {
            try await cache.set(bytes(name), value: value, timeToLive: nil)
        }
        XCTAssertEqual(cache.totalBytes, entry * 3)
        // Using key1 makes key2 the least recently used.
        _ = try await cache.get(bytes("key1"))
        try await cache.set(bytes("key4"), value: value, timeToLive: nil)
        let key2 = try await cache.get(bytes("key2"))
        XCTAssertNil(key2)
        for name in ["key1", "key3", "key4"] {
            let kept = try await cache.get(bytes(name))
            XCTAssertEqual(kept, value, name)
        }
        // A bigger value evicts as many old entries as its size needs: key1, then key3 (the
        // loop above used key4 last).
        try await cache.set(bytes("big1"), value: [UInt8](repeating: 1, count: 132), timeToLive: nil)
        let key3 = try await cache.get(bytes("key3"))
        let key1 = try await cache.get(bytes("key1"))
        let key4 = try await cache.get(bytes("key4"))
        XCTAssertNil(key3)
        XCTAssertNil(key1)
        XCTAssertEqual(key4, value)
        XCTAssertLessThanOrEqual(cache.totalBytes, cache.capacityBytes)
        XCTAssertEqual(cache.count, 2)
    }

    func testValueLargerThanCapacityIsNotStoredAndDropsTheOldValue() async throws {
        let cache = InProcessCache(capacityBytes: 200)
        try await cache.set(bytes("k"), value: bytes("old"), timeToLive: nil)
        try await cache.set(bytes("k"), value: [UInt8](repeating: 0, count: 500), timeToLive: nil)
        let value = try await cache.get(bytes("k"))
        XCTAssertNil(value, "the replaced value must not come back")
        XCTAssertEqual(cache.totalBytes, 0)
    }

    func testOverwriteReplacesValueAndAccountsBytes() async throws {
        let cache = InProcessCache(capacityBytes: 10_000)
        try await cache.set(bytes("k"), value: [UInt8](repeating: 1, count: 100), timeToLive: nil)
        try await cache.set(bytes("k"), value: [UInt8](repeating: 2, count: 10), timeToLive: nil)
        let value = try await cache.get(bytes("k"))
        XCTAssertEqual(value, [UInt8](repeating: 2, count: 10))
        XCTAssertEqual(cache.totalBytes, 1 + 10 + InProcessCache.entryOverheadBytes)
    }

    func testClearByPrefixRemovesOnlyThatPrefix() async throws {
        let cache = InProcessCache(capacityBytes: 1 << 20)
        for key in ["conv:1", "conv:2", "conversation", "a*[b]"] {
            try await cache.set(bytes(key), value: bytes("v"), timeToLive: nil)
        }
        let deleted = try await cache.clear(prefix: bytes("conv:"))
        XCTAssertEqual(deleted, 2)
        let kept = try await cache.get(bytes("conversation"))
        XCTAssertEqual(kept, bytes("v"))
        // No glob semantics here: the prefix is literal.
        let literal = try await cache.clear(prefix: bytes("a*"))
        XCTAssertEqual(literal, 1)
        XCTAssertEqual(cache.count, 1)
    }

    func testManyOperationsKeepTheBoundAndTheListConsistent() async throws {
        // Seeded so a failure can be replayed.
        var generator = SplitMix64(seed: 0x5EED)
        let cache = InProcessCache(capacityBytes: 5_000)
        var model: [String: [UInt8]] = [:]
        for _ in 0..<20_000 {
            let key = "k\(generator.next() % 64)"
            switch generator.next() % 3 {
            case 0:
                let value = [UInt8](repeating: UInt8(generator.next() % 256), count: Int(generator.next() % 200))
                try await cache.set(bytes(key), value: value, timeToLive: nil)
                model[key] = value
            case 1:
                _ = try await cache.delete([bytes(key)])
                model[key] = nil
            default:
                // The cache may have evicted the key, but it must never return a wrong value.
                if let value = try await cache.get(bytes(key)) {
                    XCTAssertEqual(value, model[key])
                }
            }
            XCTAssertLessThanOrEqual(cache.totalBytes, 5_000)
        }
    }
}

struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
