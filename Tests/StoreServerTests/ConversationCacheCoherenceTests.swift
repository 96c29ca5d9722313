// ConversationCache's ordering of fills against invalidations, driven hard: slow loads and slow
// cache writes widen every race window, and a read that starts after a write has returned must
// never see an older version. Also: an invalidation that fails marks the id suspect, so reads
// bypass the cache until the delete succeeds. The cache underneath is the real in-process cache,
// wrapped to inject delays and failures.
import Foundation
import Synchronization
import XCTest
@testable import StoreServerCore
import WireProtocol

/// InProcessCache with injected latency on set and injected failures on delete.
final class FaultInjectingCache: CacheBackend {
    let inner = InProcessCache(capacityBytes: 1 << 20)
    let failDeletes = Mutex(false)
    let setDelayMicrosecondsMax: Int

    init(setDelayMicrosecondsMax: Int = 0) { self.setDelayMicrosecondsMax = setDelayMicrosecondsMax }

    func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]? { try await inner.get(key) }
    func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError) {
        if setDelayMicrosecondsMax > 0 {
            // Only the delay matters; a cancelled sleep just shortens it.
            try? await Task.sleep(for: .microseconds(Int.random(in: 0...setDelayMicrosecondsMax)))
        }
        try await inner.set(key, value: value, timeToLive: timeToLive)
    }
    func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int {
        if failDeletes.withLock({ $0 }) { throw .poolExhausted(backend: "redis") }
        return try await inner.delete(keys)
    }
    func clear(prefix: [UInt8]) async throws(BackendError) -> Int { try await inner.clear(prefix: prefix) }
    var health: CacheHealth { .up }
}

/// Shared mutable test state for closures that must be Sendable.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}

final class ConversationCacheCoherenceTests: XCTestCase {
    private let logger = Logger(subsystem: "coherence-test", minimumLevel: .error, sink: CollectingSink())

    private static func record(_ id: String, version: Int) -> ConversationRecord {
        ConversationRecord(id: id, title: "v\(version)", userID: nil, createdAtMilliseconds: 0,
                           updatedAtMilliseconds: Int64(version), metadata: [:])
    }

    func testReadsAfterAWriteNeverSeeAnOlderVersion() async throws {
        let cache = ConversationCache(cache: FaultInjectingCache(setDelayMicrosecondsMax: 300), timeToLive: .seconds(60),
                                      logger: logger)
        let id = UUID().uuidString.lowercased()
        let database = Shared(0)
        let load: @Sendable () async throws -> ConversationRecord? = {
            let version = database.get()
            // A slow query: the row read may be overwritten before the fill.
            try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
            return Self.record(id, version: version)
        }
        // The writer's own reads load at once. Readers that missed during the last write's
        // window load slowly, so their fills of the older row land during the next write's
        // window: exactly the race the generations guard against.
        let fastLoad: @Sendable () async throws -> ConversationRecord? = {
            Self.record(id, version: database.get())
        }
        let stop = Shared(false)
        let readers = (0..<6).map { _ in
            Task {
                while !stop.get() {
                    _ = try await cache.read(id: id, load: load)
                    // A hit in the in-process cache never suspends; without this the readers
                    // would keep the cooperative pool's threads from the writer.
                    await Task.yield()
                }
            }
        }
        for version in 1...100 {
            database.set(version)
            await cache.invalidate(id: id)
            // Every read until the next write must see this version, also those made after
            // racing fills of older rows had time to land.
            for pause in [1000, 1000, 1000] {
                try await Task.sleep(for: .microseconds(pause))
                let seen = try await cache.read(id: id, load: fastLoad)
                XCTAssertEqual(seen?.updatedAtMilliseconds, Int64(version), "stale read after write \(version)")
            }
        }
        stop.set(true)
        for reader in readers { try await reader.value }
    }

    /// The race itself, step by step: a reader loads the old row, a write commits and
    /// invalidates, then the reader's fill arrives. The fill must be dropped.
    func testAFillOfARowLoadedBeforeAWriteIsDropped() async throws {
        let cache = ConversationCache(cache: FaultInjectingCache(), timeToLive: .seconds(60), logger: logger)
        let id = UUID().uuidString.lowercased()
        let database = Shared(1)
        let loaded = Shared(false)
        let gate = Shared(false)
        let slowLoad: @Sendable () async throws -> ConversationRecord? = {
            let version = database.get()
            loaded.set(true)
            while !gate.get() { try await Task.sleep(for: .milliseconds(1)) }
            return Self.record(id, version: version)
        }
        let slowReader = Task { try await cache.read(id: id, load: slowLoad) }
        while !loaded.get() { try await Task.sleep(for: .milliseconds(1)) }
        database.set(2)
        await cache.invalidate(id: id)
        gate.set(true)
        let old = try await slowReader.value
        XCTAssertEqual(old?.title, "v1", "the slow reader itself answers with what it loaded")
        let fastLoad: @Sendable () async throws -> ConversationRecord? = { Self.record(id, version: database.get()) }
        let fresh = try await cache.read(id: id, load: fastLoad)
        XCTAssertEqual(fresh?.title, "v2", "the late fill of v1 must not have been cached")
    }

    func testFailedInvalidationBypassesTheCacheUntilTheDeleteSucceeds() async throws {
        let backend = FaultInjectingCache()
        let cache = ConversationCache(cache: backend, timeToLive: .seconds(60), logger: logger)
        let id = UUID().uuidString.lowercased()
        let database = Shared(1)
        let loads = Shared(0)
        let load: @Sendable () async throws -> ConversationRecord? = {
            loads.value.withLock { $0 += 1 }
            return Self.record(id, version: database.get())
        }
        _ = try await cache.read(id: id, load: load)
        _ = try await cache.read(id: id, load: load)
        XCTAssertEqual(loads.get(), 1, "the second read is a hit")

        backend.failDeletes.withLock { $0 = true }
        database.set(2)
        await cache.invalidate(id: id)
        let cachedKey = try await backend.inner.get(ConversationCache.key(for: id))
        XCTAssertNotNil(cachedKey, "the stale entry is still in the cache")
        let whileFailing = try await cache.read(id: id, load: load)
        XCTAssertEqual(whileFailing?.title, "v2", "a suspect id bypasses the cache")

        backend.failDeletes.withLock { $0 = false }
        let afterRecovery = try await cache.read(id: id, load: load)
        XCTAssertEqual(afterRecovery?.title, "v2")
        let loadsBefore = loads.get()
        let hit = try await cache.read(id: id, load: load)
        XCTAssertEqual(hit?.title, "v2")
        XCTAssertEqual(loads.get(), loadsBefore, "cached again once the delete went through")
    }
}
