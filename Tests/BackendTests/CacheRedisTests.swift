// RedisCache against the real Redis from TEST_REDIS_URL; each test uses its own key prefix.
import Foundation
import XCTest
@testable import StoreServerCore

final class CacheRedisTests: XCTestCase {
    private var pool: RedisPool!
    private var endpoint: RedisEndpoint!

    override func setUp() async throws {
        endpoint = try RedisTestSupport.endpoint()
        pool = RedisTestSupport.pool(endpoint)
    }

    override func tearDown() async throws {
        pool?.shutdown()
    }

    private func bytes(_ text: String) -> [UInt8] { RedisTestSupport.bytes(text) }

    func testBinaryValuesRoundTripWithAll256ByteValues() async throws {
        let cache = RedisCache(pool: pool, keyPrefix: RedisTestSupport.uniquePrefix())
        let value: [UInt8] = Array(0...255) + [0, 13, 10, 0xFF] + Array(255...255) + [0]
        let key: [UInt8] = [0, 13, 10, 0xFF, 0x2A, 0x3F]
        try await cache.set(key, value: value, timeToLive: nil)
        let back = try await cache.get(key)
        XCTAssertEqual(back, value)
        let deleted = try await cache.delete([key, key + [1]])
        XCTAssertEqual(deleted, 1)
        let afterDelete = try await cache.get(key)
        XCTAssertNil(afterDelete)
    }

    func testKeysLiveUnderTheServerPrefix() async throws {
        let prefix = RedisTestSupport.uniquePrefix()
        let cache = RedisCache(pool: pool, keyPrefix: prefix)
        try await cache.set(bytes("k"), value: bytes("v"), timeToLive: nil)
        let raw = try await pool.execute(["GET", prefix + "k"])
        XCTAssertEqual(raw, .bulk(bytes("v")))
        let unprefixed = try await pool.execute(["EXISTS", "k"])
        XCTAssertEqual(unprefixed, .integer(0))
        _ = try await cache.clear(prefix: [])
    }

    func testTimeToLiveExpiresInRedis() async throws {
        let cache = RedisCache(pool: pool, keyPrefix: RedisTestSupport.uniquePrefix())
        try await cache.set(bytes("short"), value: bytes("v"), timeToLive: .milliseconds(1000))
        try await cache.set(bytes("long"), value: bytes("v"), timeToLive: .seconds(60))
        let early = try await cache.get(bytes("short"))
        XCTAssertEqual(early, bytes("v"))
        try await Task.sleep(for: .milliseconds(1500))
        let late = try await cache.get(bytes("short"))
        XCTAssertNil(late)
        let long = try await cache.get(bytes("long"))
        XCTAssertEqual(long, bytes("v"))
        _ = try await cache.clear(prefix: [])
    }

    func testNonPositiveTimeToLiveIsRejected() async throws {
        let cache = RedisCache(pool: pool, keyPrefix: RedisTestSupport.uniquePrefix())
        do {
            try await cache.set(bytes("k"), value: bytes("v"), timeToLive: .zero)
            XCTFail("a zero time to live must be refused")
        } catch {
            guard case .invalidArgument = error else { return XCTFail("expected .invalidArgument, got \(error)") }
        }
    }

    func testClearByPrefixLeavesOtherKeysAndOtherProgramsKeysAlone() async throws {
        let serverPrefix = RedisTestSupport.uniquePrefix()
        let cache = RedisCache(pool: pool, keyPrefix: serverPrefix)
        // More keys than one SCAN/UNLINK batch, to exercise the batching.
        let doomedCount = RedisCache.clearBatchKeysMax * 2 + 17
        for start in stride(from: 0, to: doomedCount, by: 100) {
            let commands = (start..<min(start + 100, doomedCount)).map {
                [bytes("SET"), bytes(serverPrefix + "conv:\($0)"), bytes("x")]
            }
            _ = try await pool.pipeline(commands)
        }
        try await cache.set(bytes("conversation:1"), value: bytes("keep"), timeToLive: nil)
        try await cache.set(bytes("con"), value: bytes("keep"), timeToLive: nil)
        // Written by "another program": a plain connection, no server prefix, including a key
        // that starts with the same text as our prefixed keys but lacks the prefix.
        let foreign = ["conv:1", String(serverPrefix.dropLast()) + "conv:1", "other:" + serverPrefix + "conv:1"]
        let other = try await RedisConnection.connect(to: endpoint, connectTimeout: .seconds(1),
                                                      commandTimeout: .seconds(2))
        defer { other.close() }
        for key in foreign { _ = try await other.execute(["SET", key, "foreign"]) }

        let deleted = try await cache.clear(prefix: bytes("conv:"))
        XCTAssertEqual(deleted, doomedCount)
        let kept1 = try await cache.get(bytes("conversation:1"))
        let kept2 = try await cache.get(bytes("con"))
        XCTAssertEqual(kept1, bytes("keep"))
        XCTAssertEqual(kept2, bytes("keep"))
        for key in foreign {
            let value = try await other.execute(["GET", key])
            XCTAssertEqual(value, .bulk(bytes("foreign")), "foreign key \(key) must survive")
        }
        // An empty prefix clears this cache's keys, still none of the foreign ones.
        let rest = try await cache.clear(prefix: [])
        XCTAssertEqual(rest, 2)
        for key in foreign {
            let value = try await other.execute(["GET", key])
            XCTAssertEqual(value, .bulk(bytes("foreign")))
            _ = try await other.execute(["DEL", key])
        }
    }

    func testClearByPrefixEscapesGlobCharacters() async throws {
        // Both the server prefix and the user prefix hold every glob metacharacter.
        let serverPrefix = RedisTestSupport.uniquePrefix() + "[s]*?\\:"
        let cache = RedisCache(pool: pool, keyPrefix: serverPrefix)
        let userPrefix = "a*[bc]?\\"
        let matching = [userPrefix, userPrefix + "1", userPrefix + "\u{0}\r\n"]
        // Each would match if the prefix were used as a raw pattern.
        let decoys = ["aX[bc]?\\1", "ab]?\\1", "a*c?\\1", "a*[bc]X\\1", "a*[bc]?", "a*[bc]?X"]
        for key in matching + decoys {
            try await cache.set(bytes(key), value: bytes("v"), timeToLive: nil)
        }
        let deleted = try await cache.clear(prefix: bytes(userPrefix))
        XCTAssertEqual(deleted, matching.count)
        for key in matching {
            let value = try await cache.get(bytes(key))
            XCTAssertNil(value, "\(key) should be cleared")
        }
        for key in decoys {
            let value = try await cache.get(bytes(key))
            XCTAssertEqual(value, bytes("v"), "\(key) must survive")
        }
        // Another server prefix that the unescaped pattern would match.
        let sibling = RedisCache(pool: pool, keyPrefix: serverPrefix.replacingOccurrences(of: "[s]", with: "s"))
        try await sibling.set(bytes("a"), value: bytes("v"), timeToLive: nil)
        let cleared = try await cache.clear(prefix: [])
        XCTAssertEqual(cleared, decoys.count)
        let siblingValue = try await sibling.get(bytes("a"))
        XCTAssertEqual(siblingValue, bytes("v"))
        _ = try await sibling.clear(prefix: [])
    }

    func testUnavailableRedisFailsFast() async throws {
        let port = try RedisTestSupport.freePort()
        let deadPool = RedisTestSupport.pool(RedisEndpoint(port: port))
        defer { deadPool.shutdown() }
        let cache = RedisCache(pool: deadPool, keyPrefix: "agentstore:")
        let started = ContinuousClock.now
        do {
            _ = try await cache.get(bytes("k"))
            XCTFail("get should fail")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
        do {
            try await cache.set(bytes("k"), value: bytes("v"), timeToLive: nil)
            XCTFail("set should fail")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
    }
}
