// Time to live: expired items are never returned, refresh pushes expiry forward, a refresh
// never revives, and the sweeper deletes expired rows and their vectors.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class MemoryTimeToLiveTests: XCTestCase {
    func testExpiredItemsAreNeverReturnedEvenBeforeTheSweep() async throws {
        let fixture = try await MemoryTestServer.start { $0.sweepInterval = .seconds(3600) }
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await client.ensureMemoryCollection(collection, dimension: 2, metric: .cosine)
        let item = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "short", value: "{}", collection: collection,
            vectors: [MemoryFieldVector(field: "v", vector: [1, 0])], timeToLiveMilliseconds: 300))
        let expires = try XCTUnwrap(item.expiresAtMicroseconds)
        XCTAssertEqual(expires - item.updatedAtMicroseconds, 300_000, accuracy: 1_000)
        _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "forever", value: "{}", collection: collection,
            vectors: [MemoryFieldVector(field: "v", vector: [0.9, 0.1])]))
        let present = try await client.memory(namespace: [root], key: "short")
        XCTAssertNotNil(present)
        try await Task.sleep(for: .milliseconds(450))
        let gone = try await client.memory(namespace: [root], key: "short")
        XCTAssertNil(gone)
        let listed = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], limit: 10))
        XCTAssertEqual(listed.map(\.item.key), ["forever"])
        let ranked = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [], collection: collection,
                                                                         query: [1, 0], limit: 1))
        XCTAssertEqual(ranked.map(\.item.key), ["forever"], "the expired nearer item must not take the only slot")
        let refreshed = try await client.memory(namespace: [root], key: "short", refreshTimeToLive: true)
        XCTAssertNil(refreshed, "a refresh never revives an expired item")
        let namespaces = try await client.listMemoryNamespaces(MemoryListNamespacesRequest(prefix: [root]))
        XCTAssertEqual(namespaces, [[root]])

        // A put over an expired item makes a new item: created_at starts again.
        let again = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "short", value: "{}"))
        XCTAssertEqual(again.createdAtMicroseconds, again.updatedAtMicroseconds)
        XCTAssertNil(again.expiresAtMicroseconds)
        await fixture.stop()
    }

    func testRefreshOnReadPushesExpiryForward() async throws {
        let fixture = try await MemoryTestServer.start { $0.sweepInterval = .seconds(3600) }
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let put = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k", value: "{}", timeToLiveMilliseconds: 600))
        try await Task.sleep(for: .milliseconds(350))
        let plain = try await client.memory(namespace: [root], key: "k")
        XCTAssertEqual(plain?.expiresAtMicroseconds, put.expiresAtMicroseconds, "a read without refresh leaves expiry alone")
        let refreshedRead = try await client.memory(namespace: [root], key: "k", refreshTimeToLive: true)
        let refreshed = try XCTUnwrap(refreshedRead)
        XCTAssertGreaterThan(refreshed.expiresAtMicroseconds!, put.expiresAtMicroseconds! + 300_000)
        try await Task.sleep(for: .milliseconds(400))
        // 750 ms after the put: alive only because of the refresh. Refresh through search too.
        let found = try await client.searchMemories(MemorySearchRequest(namespacePrefix: [root], refreshTimeToLive: true))
        XCTAssertEqual(found.map(\.item.key), ["k"])
        XCTAssertGreaterThan(found[0].item.expiresAtMicroseconds!, refreshed.expiresAtMicroseconds!)
        try await Task.sleep(for: .milliseconds(700))
        let expired = try await client.memory(namespace: [root], key: "k", refreshTimeToLive: true)
        XCTAssertNil(expired)
        await fixture.stop()
    }

    func testSweeperDeletesExpiredRowsAndTheirVectors() async throws {
        let fixture = try await MemoryTestServer.start {
            $0.sweepInterval = .milliseconds(200)
            $0.tickInterval = .milliseconds(100)
        }
        let client = fixture.client
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        try await client.ensureMemoryCollection(collection, dimension: 2, metric: .l2)
        for index in 0..<5 {
            _ = try await client.putMemory(MemoryPutRequest(namespace: [root], key: "k\(index)", value: "{}", collection: collection,
                vectors: [MemoryFieldVector(field: "v", vector: [Float(index), 1])], timeToLiveMilliseconds: 100))
        }
        let postgres = try await BackendFixture.backends().postgres
        let path = root + "."
        var remaining = -1
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(100))
            let rows = try await postgres.query("SELECT count(*) FROM memory_items WHERE namespace_path = $1", [.text(path)])
            remaining = Int(rows.int64(row: 0, column: 0) ?? -1)
            if remaining == 0 { break }
        }
        XCTAssertEqual(remaining, 0, "the sweeper should have deleted the expired rows")
        let vectors = try await postgres.query("SELECT count(*) FROM memory_vectors WHERE collection = $1", [.text(collection)])
        XCTAssertEqual(vectors.int64(row: 0, column: 0), 0)
        let tombstones = try await postgres.query("SELECT count(*) FROM memory_vector_tombstones WHERE collection = $1",
                                                  [.text(collection)])
        XCTAssertEqual(tombstones.int64(row: 0, column: 0), 5)
        await fixture.stop()
    }
}
