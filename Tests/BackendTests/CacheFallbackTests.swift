// FallbackCache: keeps answering while Redis is gone, reports degraded, switches back when
// Redis returns, and never serves a value that was overwritten or deleted during the outage.
import Foundation
import XCTest
@testable import StoreServerCore

final class CacheFallbackTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testRedisKilledMidRunDegradesAndSwitchesBackWithoutStaleValues() async throws {
        let port = try RedisTestSupport.freePort()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fallback-test-\(UUID().uuidString)", isDirectory: true)
        defer {
            // Best effort: a leftover temp directory does no harm.
            try? FileManager.default.removeItem(at: directory)
        }
        // Loading the snapshot makes the restarted Redis hold the old values.
        let configuration = ManagedRedis.Configuration(port: port, dataDirectory: directory,
                                                       loadsExistingSnapshot: true)
        var managed = try await ManagedRedis.start(configuration: configuration, logger: RedisTestSupport.logger)
        let pool = RedisPool(configuration: .init(endpoint: managed.endpoint, commandTimeout: .seconds(1)),
                             logger: RedisTestSupport.logger)
        let redis = RedisCache(pool: pool, keyPrefix: "agentstore:")
        let cache = FallbackCache(redis: redis, fallback: InProcessCache(capacityBytes: 1 << 20),
                                  logger: RedisTestSupport.logger)
        do {
            for key in ["overwritten", "deleted", "cleared:1", "untouched"] {
                try await cache.set(bytes(key), value: bytes("old"), timeToLive: nil)
            }
            XCTAssertEqual(cache.health, .up)
            // Snapshot the data so the restarted Redis comes back holding the old values, like a
            // Redis that was only unreachable: the case where stale values could be served.
            let admin = try await RedisConnection.connect(to: managed.endpoint, connectTimeout: .seconds(1),
                                                          commandTimeout: .seconds(5))
            _ = try await admin.execute(["SET", "sentinel-from-another-program", "kept"])
            let saved = try await admin.execute(["SAVE"])
            XCTAssertEqual(saved, .status("OK"))
            admin.close()

            await managed.stop()

            // Every operation keeps succeeding, answered by the in-process cache.
            let missing = try await cache.get(bytes("untouched"))
            XCTAssertNil(missing, "the fallback starts empty")
            XCTAssertEqual(cache.health, .degraded)
            try await cache.set(bytes("overwritten"), value: bytes("new"), timeToLive: nil)
            let deleted = try await cache.delete([bytes("deleted")])
            XCTAssertEqual(deleted, 0)
            _ = try await cache.clear(prefix: bytes("cleared:"))
            try await cache.set(bytes("written-while-down"), value: bytes("v"), timeToLive: .seconds(60))
            let newValue = try await cache.get(bytes("overwritten"))
            XCTAssertEqual(newValue, bytes("new"))
            XCTAssertEqual(cache.health, .degraded)

            managed = try await ManagedRedis.start(configuration: configuration, logger: RedisTestSupport.logger)
            let restored = try await pool.execute(["GET", "sentinel-from-another-program"])
            XCTAssertEqual(restored, .bulk(bytes("kept")), "the restart must restore the snapshot")

            let deadline = ContinuousClock.now + .seconds(15)
            while cache.health != .up, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            XCTAssertEqual(cache.health, .up, "the cache should switch back to Redis")

            let overwritten = try await cache.get(bytes("overwritten"))
            XCTAssertNotEqual(overwritten, bytes("old"), "a value overwritten while degraded must not come back")
            let deletedAfter = try await cache.get(bytes("deleted"))
            XCTAssertNil(deletedAfter, "a key deleted while degraded must stay deleted")
            let clearedAfter = try await cache.get(bytes("cleared:1"))
            XCTAssertNil(clearedAfter, "a prefix cleared while degraded must stay cleared")
            let untouched = try await cache.get(bytes("untouched"))
            XCTAssertEqual(untouched, bytes("old"), "served from Redis again")
            let sentinel = try await pool.execute(["GET", "sentinel-from-another-program"])
            XCTAssertEqual(sentinel, .bulk(bytes("kept")), "other programs' keys are never touched")

            // Back on Redis, writes land there again.
            try await cache.set(bytes("after"), value: bytes("v"), timeToLive: nil)
            let raw = try await pool.execute(["GET", "agentstore:after"])
            XCTAssertEqual(raw, .bulk(bytes("v")))
        } catch {
            XCTFail("unexpected error: \(error)")
        }
        cache.shutdown()
        pool.shutdown()
        await managed.stop()
    }

    func testUnreachableRedisFromTheStartServesFromMemory() async throws {
        let port = try RedisTestSupport.freePort()
        let pool = RedisTestSupport.pool(RedisEndpoint(port: port))
        defer { pool.shutdown() }
        let cache = FallbackCache(redis: RedisCache(pool: pool, keyPrefix: "agentstore:"),
                                  fallback: InProcessCache(capacityBytes: 1 << 20),
                                  logger: RedisTestSupport.logger)
        defer { cache.shutdown() }
        let started = ContinuousClock.now
        try await cache.set(bytes("k"), value: [0, 13, 10, 0xFF], timeToLive: .milliseconds(1000))
        XCTAssertEqual(cache.health, .degraded)
        let value = try await cache.get(bytes("k"))
        XCTAssertEqual(value, [0, 13, 10, 0xFF])
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500), "an outage must not slow calls")
        try await Task.sleep(for: .milliseconds(1500))
        let expired = try await cache.get(bytes("k"))
        XCTAssertNil(expired, "TTLs hold in the fallback too")
    }

    func testPassesThroughToRedisWhileUp() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let pool = RedisTestSupport.pool(endpoint)
        defer { pool.shutdown() }
        let prefix = RedisTestSupport.uniquePrefix()
        let cache = FallbackCache(redis: RedisCache(pool: pool, keyPrefix: prefix),
                                  fallback: InProcessCache(capacityBytes: 1 << 20),
                                  logger: RedisTestSupport.logger)
        defer { cache.shutdown() }
        try await cache.set(bytes("k"), value: bytes("v"), timeToLive: nil)
        let raw = try await pool.execute(["GET", prefix + "k"])
        XCTAssertEqual(raw, .bulk(bytes("v")))
        XCTAssertEqual(cache.health, .up)
        let cleared = try await cache.clear(prefix: [])
        XCTAssertEqual(cleared, 1)
    }

    func testDisabledCacheAlwaysMisses() async throws {
        let cache = DisabledCache()
        try await cache.set(Array("k".utf8), value: Array("v".utf8), timeToLive: nil)
        let value = try await cache.get(Array("k".utf8))
        XCTAssertNil(value)
        XCTAssertEqual(cache.health, .disabled)
    }
}
