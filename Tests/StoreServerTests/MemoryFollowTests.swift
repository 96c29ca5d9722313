// Two memories domain instances over one PostgreSQL, each with its own index: writes through
// one become searchable through the other, including a write whose change number commits
// after a higher one, and a follower that fell behind pruned tombstones reloads (once, even
// with a writer stuck open).
import Foundation
import Synchronization
import XCTest
import StoreClient
@testable import StoreServerCore
import WireProtocol

final class MemoryFollowTests: XCTestCase {
    private static let dimension = 8
    /// Far above the 50 ms follow interval used here, so only a broken follower fails.
    private static let visibilityWait: Duration = .seconds(10)

    private func startPair() async throws -> (MemoryTestServer, MemoryTestServer) {
        let configure: (inout MemoryConfiguration) -> Void = { $0.followInterval = .milliseconds(50) }
        let first = try await MemoryTestServer.start(configure)
        let second = try await MemoryTestServer.start(configure)
        try await first.waitUntilReady()
        try await second.waitUntilReady()
        return (first, second)
    }

    private func put(_ client: StoreClient, root: String, key: String, collection: String, vector: [Float]) async throws {
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: key, value: "{}", collection: collection,
                                                        vectors: [MemoryFieldVector(field: "v", vector: vector)]))
    }

    /// Two instances, a namespace root no other test uses, and a collection created through
    /// the first one after both loaded (so the second learns of it from followed changes).
    private func startPairWithCollection() async throws -> (MemoryTestServer, MemoryTestServer, String, String) {
        let (a, b) = try await startPair()
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await a.client.ensureMemoryCollection(collection, dimension: Self.dimension, metric: .cosine)
        return (a, b, root, collection)
    }

    /// The keys a vector search through `client` finds nearest to `vector`.
    private func nearestKeys(_ client: StoreClient, root: String, collection: String, vector: [Float]) async throws -> [String] {
        try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection, query: vector,
                                                            limit: 10)).filter { $0.score != nil }.map(\.item.key)
    }

    /// Waits until `condition` holds, failing after `limit`.
    private func eventually(_ what: String, within limit: Duration = visibilityWait,
                            _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("not within \(limit): \(what)")
    }

    func testPutsDeletesAndNewCollectionsFollowAcrossInstances() async throws {
        // The collection is created through A: B learns of it from the followed changes.
        let (a, b, root, collection) = try await startPairWithCollection()
        var generator = SplitMix64(state: 11)
        let first = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        let second = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        try await put(a.client, root: root, key: "one", collection: collection, vector: first)
        try await eventually("A's put searchable on B") {
            try await nearestKeys(b.client, root: root, collection: collection, vector: first).first == "one"
        }
        // A replacement through B: A sees the new vector and loses the old one.
        try await put(b.client, root: root, key: "one", collection: collection, vector: second)
        try await put(b.client, root: root, key: "two", collection: collection, vector: first)
        try await eventually("B's replacement searchable on A") {
            let replaced = try await nearestKeys(a.client, root: root, collection: collection, vector: second).first
            let added = try await nearestKeys(a.client, root: root, collection: collection, vector: first).first
            return replaced == "one" && added == "two"
        }
        try await a.client.deleteMemory(namespace: [root], key: "two")
        try await eventually("A's delete gone from B") {
            try await !nearestKeys(b.client, root: root, collection: collection, vector: first).contains("two")
        }
        // Clean stops end the follow loops, which would otherwise poll for the rest of the run.
        await a.stopCleanly()
        await b.stopCleanly()
    }

    /// The follower reads changes above its cursor; a write whose change number was taken
    /// before a later write committed, but which commits after the follower saw that later
    /// one, must still reach the index.
    func testAChangeCommittingAfterAHigherOneIsStillFollowed() async throws {
        let (a, b, root, collection) = try await startPairWithCollection()
        _ = try await nearestKeys(b.client, root: root, collection: collection, vector: [1, 0, 0, 0, 0, 0, 0, 0])
        var generator = SplitMix64(state: 12)
        let early = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        let late = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)

        // A raw transaction takes its change number, then stays open.
        let pool = try await BackendFixture.backends().postgres
        let release = Shared(false)
        let tookChange = Shared<Int64?>(nil)
        let bytes = Self.littleEndianBytes(early)
        async let held: Void = Self.insertAndHoldOpen(pool: pool, root: root, collection: collection, bytes: bytes,
                                                      tookChange: tookChange, release: release)
        while tookChange.get() == nil { try await Task.sleep(for: .milliseconds(10)) }

        // A later change number commits first, and B follows it (so B's reads went past the
        // held number while it was invisible).
        try await put(a.client, root: root, key: "late", collection: collection, vector: late)
        try await eventually("the later put searchable on B") {
            try await nearestKeys(b.client, root: root, collection: collection, vector: late).first == "late"
        }
        // Several polls with the hole open: a cursor moved past it would never come back.
        try await Task.sleep(for: .milliseconds(300))
        let beforeCommit = try await nearestKeys(b.client, root: root, collection: collection, vector: early)
        XCTAssertFalse(beforeCommit.contains("early"), "not committed yet")

        release.set(true)
        try await held
        try await eventually("the earlier change, committed last, searchable on B") {
            try await nearestKeys(b.client, root: root, collection: collection, vector: early).first == "early"
        }
        // A never saw it through its own writes either: it follows it the same way.
        try await eventually("the earlier change searchable on A") {
            try await nearestKeys(a.client, root: root, collection: collection, vector: early).first == "early"
        }
        // Clean stops end the follow loops, which would otherwise poll for the rest of the run.
        await a.stopCleanly()
        await b.stopCleanly()
    }

    /// A follower that falls behind pruned tombstones cannot know which vectors they removed;
    /// it must reload rather than keep serving a deleted item.
    func testAFollowerBehindPrunedTombstonesReloads() async throws {
        let (a, b, root, collection) = try await startPairWithCollection()
        var generator = SplitMix64(state: 13)
        let gone = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        let kept = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        try await put(a.client, root: root, key: "gone", collection: collection, vector: gone)
        try await put(a.client, root: root, key: "kept", collection: collection, vector: kept)
        try await eventually("both puts searchable on B") {
            let first = try await nearestKeys(b.client, root: root, collection: collection, vector: gone).first
            let second = try await nearestKeys(b.client, root: root, collection: collection, vector: kept).first
            return first == "gone" && second == "kept"
        }

        // The delete and the pruning of its tombstone commit together, so no follower can
        // read the tombstone: only the raised horizon tells B it missed something.
        let pool = try await BackendFixture.backends().postgres
        try await Self.deleteAndPruneTogether(pool: pool, root: root, key: "gone", collection: collection)

        // A reload rebuilds every collection of the shared test database (2 s in a debug build
        // when this was written), so it gets longer than a poll.
        try await eventually("B reloads and no longer finds the deleted item", within: .seconds(60)) {
            let reloaded = b.log.collected.contains { $0.contains("memory index reloaded") }
            let found = try await nearestKeys(b.client, root: root, collection: collection, vector: gone)
            return reloaded && !found.contains("gone") && found.first == "kept"
        }
        XCTAssertTrue(b.log.collected.contains { $0.contains("behind the tombstone horizon") })
        await a.stopCleanly()
        await b.stopCleanly()
    }

    /// A reload whose fence cannot settle, because a transaction holding a vector write lock
    /// stays open, must still start the follower at the tombstone horizon: below it, every poll
    /// would reload everything again for as long as that transaction lasts.
    func testAReloadWithAWriterStuckOpenReloadsOnce() async throws {
        let (a, b, root, collection) = try await startPairWithCollection()
        var generator = SplitMix64(state: 14)
        let gone = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        let early = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
        try await put(a.client, root: root, key: "gone", collection: collection, vector: gone)
        try await eventually("the put searchable on B") {
            try await nearestKeys(b.client, root: root, collection: collection, vector: gone).first == "gone"
        }

        let pool = try await BackendFixture.backends().postgres
        let locked = Shared(false)
        let release = Shared(false)
        async let held: Void = Self.lockThenInsert(pool: pool, root: root, collection: collection,
                                                   bytes: Self.littleEndianBytes(early), locked: locked, release: release)
        while !locked.get() { try await Task.sleep(for: .milliseconds(10)) }
        try await Self.deleteAndPruneTogether(pool: pool, root: root, key: "gone", collection: collection)

        // The fence waits MemoryIndexCatalogue.fenceWaitMax (10 s) for the open writer first.
        try await eventually("B reloads despite the open writer", within: .seconds(60)) {
            b.log.collected.contains { $0.contains("memory index reloaded") }
        }
        try await Task.sleep(for: .milliseconds(500))  // 10 polls with the writer still open
        XCTAssertEqual(b.log.collected.filter { $0.contains("behind the tombstone horizon") }.count, 1)
        XCTAssertTrue(b.log.collected.contains { $0.contains("did not end") })
        let afterReload = try await nearestKeys(b.client, root: root, collection: collection, vector: gone)
        XCTAssertFalse(afterReload.contains("gone"))

        // The stuck writer's item, committed last, is still followed from the horizon.
        release.set(true)
        try await held
        try await eventually("the held insert searchable on B") {
            try await nearestKeys(b.client, root: root, collection: collection, vector: early).first == "early"
        }
        await a.stopCleanly()
        await b.stopCleanly()
    }

    /// The follow age gauge restarts at every completed poll, so with a 50 ms interval it
    /// stays far below the time the servers have been running.
    func testFollowAgeGaugeTracksCompletedPolls() async throws {
        let (a, b) = try await startPair()
        try await Task.sleep(for: .milliseconds(1_200))
        for server in [a, b] {
            let age = server.metrics.gaugeValues().first { $0.name == "memory_follow_age_seconds" }?.value
            XCTAssertNotNil(age)
            XCTAssertLessThan(age ?? .infinity, 0.6, "polls every 50 ms, running for more than 1.2 s")
        }
        await a.stopCleanly()
        await b.stopCleanly()
    }

    /// Deletes an item and prunes its vector's tombstone in one transaction, raising the
    /// tombstone horizon past a change no follower can have read.
    private static func deleteAndPruneTogether(pool: PostgresPool, root: String, key: String, collection: String) async throws {
        try await pool.transaction { connection in
            _ = try await connection.query("DELETE FROM memory_items WHERE namespace_path = $1 || '.' AND key = $2",
                                           [.text(root), .text(key)])
            _ = try await connection.query("""
                WITH pruned AS (DELETE FROM memory_vector_tombstones WHERE collection = $1 RETURNING change_seq)
                UPDATE memory_state SET tombstone_horizon = GREATEST(tombstone_horizon, (SELECT max(change_seq) FROM pruned))
                """, [.text(collection)])
        }
    }

    /// Holds a vector write lock, as a writer in flight does, until `release`; only then takes
    /// its change numbers (above any horizon raised meanwhile) by inserting the item `early`.
    private static func lockThenInsert(pool: PostgresPool, root: String, collection: String, bytes: [UInt8],
                                       locked: Shared<Bool>, release: Shared<Bool>) async throws {
        try await pool.transaction { connection in
            _ = try await connection.query("LOCK TABLE memory_vectors IN ROW EXCLUSIVE MODE")
            locked.set(true)
            while !release.get() { try await Task.sleep(for: .milliseconds(10)) }
            _ = try await insertEarly(connection, root: root, collection: collection, bytes: bytes)
        }
    }

    /// Inserts an item with one vector in a transaction that stays open until `release`.
    private static func insertAndHoldOpen(pool: PostgresPool, root: String, collection: String, bytes: [UInt8],
                                          tookChange: Shared<Int64?>, release: Shared<Bool>) async throws {
        try await pool.transaction { connection in
            tookChange.set(try await insertEarly(connection, root: root, collection: collection, bytes: bytes))
            while !release.get() { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Inserts the item `early` with one vector, as a put would; returns the vector's change number.
    private static func insertEarly(_ connection: PostgresConnection, root: String, collection: String,
                                    bytes: [UInt8]) async throws -> Int64? {
        let item = try await connection.query("""
            INSERT INTO memory_items (namespace, namespace_path, key, value, created_at, updated_at)
            VALUES (ARRAY[$1], $1 || '.', 'early', '{}', now(), now()) RETURNING id
            """, [.text(root)])
        let vector = try await connection.query("""
            INSERT INTO memory_vectors (item_id, collection, field, dimension, embedding)
            VALUES ($1, $2, 'v', $3, $4::bytea) RETURNING change_seq
            """, [.text(item.string(row: 0, column: 0)!), .text(collection), .integer(dimension), .bytes(bytes)])
        return vector.int64(row: 0, column: 0)
    }

    /// Float32 little-endian, as `memory_vectors.embedding` stores vectors.
    private static func littleEndianBytes(_ vector: [Float]) -> [UInt8] {
        vector.flatMap { component -> [UInt8] in
            let bits = component.bitPattern
            return [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
    }
}

