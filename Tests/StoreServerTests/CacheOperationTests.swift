// The cache operations on the wire against the real Redis of scripts/with-backends.sh: binary
// values round-trip, TTLs expire, the default TTL applies, clear-by-prefix stays inside its
// prefix (never touching keys of another program), and bad arguments are refused.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class CacheOperationTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func connectedClient(_ server: Server) async throws -> StoreClient {
        try await StoreClient.connect(to: ClientConfiguration(port: server.port))
    }

    /// A raw connection to the test Redis, as another program would open it.
    private func rawRedis() async throws -> RedisConnection {
        guard let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] else {
            throw BackendFixture.MissingEnvironment()
        }
        return try await RedisConnection.connect(to: try RedisEndpoint(url: url), connectTimeout: .seconds(2),
                                                 commandTimeout: .seconds(5))
    }

    private func unique(_ label: String) -> [UInt8] {
        bytes("\(label):\(UUID().uuidString.prefix(8)):")
    }

    func testBinaryValuesRoundTrip() async throws {
        let server = try await BackendFixture.server()
        let client = try await connectedClient(server)
        let prefix = unique("binary")
        let awkward: [UInt8] = [0x00, 0x0D, 0x0A, 0xFF, 0x00, 0x24, 0x2A, 0x0D, 0x0A, 0xFE, 0xFF]
        let keys = [prefix + [0x00, 0xFF], prefix + [0x0D, 0x0A], prefix + bytes("*?[]\\")]
        for key in keys {
            try await client.cacheSet(key, value: awkward + key, timeToLive: .seconds(60))
        }
        for key in keys {
            let value = try await client.cacheGet(key)
            XCTAssertEqual(value, awkward + key)
        }
        let empty = prefix + bytes("empty-value")
        try await client.cacheSet(empty, value: [])
        let emptyValue = try await client.cacheGet(empty)
        XCTAssertEqual(emptyValue, [], "an empty value is present, not absent")
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.cacheSet(prefix + bytes("large"), value: large)
        let largeValue = try await client.cacheGet(prefix + bytes("large"))
        XCTAssertEqual(largeValue, large)
        let missing = try await client.cacheGet(prefix + bytes("never-set"))
        XCTAssertNil(missing)
        await client.close()
        await server.shutdown()
    }

    func testTimeToLiveExpiresAndDefaultApplies() async throws {
        let server = try await BackendFixture.server()
        let client = try await connectedClient(server)
        let prefix = unique("ttl")
        try await client.cacheSet(prefix + bytes("short"), value: bytes("v"), timeToLive: .milliseconds(1000))
        try await client.cacheSet(prefix + bytes("default"), value: bytes("v"))
        let before = try await client.cacheGet(prefix + bytes("short"))
        XCTAssertEqual(before, bytes("v"))
        try await Task.sleep(for: .milliseconds(1500))
        let after = try await client.cacheGet(prefix + bytes("short"))
        XCTAssertNil(after, "expired in Redis")

        // The default TTL (CACHE_TTL) is set on the Redis key.
        let backends = try await BackendFixture.backends()
        let redis = try await rawRedis()
        let fullKey = Array(backends.configuration.redisKeyPrefix.utf8) + bytes("u:") + prefix + bytes("default")
        let reply = try await redis.execute([bytes("PTTL"), fullKey])
        guard case .integer(let remaining) = reply else { return XCTFail("PTTL replied \(reply)") }
        let configured = Int64(backends.configuration.cacheDefaultTimeToLive.components.seconds) * 1000
        XCTAssertGreaterThan(remaining, configured - 60_000)
        XCTAssertLessThanOrEqual(remaining, configured)
        redis.close()
        await client.close()
        await server.shutdown()
    }

    func testDeleteCountsExistingKeys() async throws {
        let server = try await BackendFixture.server()
        let client = try await connectedClient(server)
        let prefix = unique("delete")
        try await client.cacheSet(prefix + bytes("a"), value: bytes("1"))
        try await client.cacheSet(prefix + bytes("b"), value: bytes("2"))
        let deleted = try await client.cacheDelete([prefix + bytes("a"), prefix + bytes("b"), prefix + bytes("c")])
        XCTAssertEqual(deleted, 2)
        let gone = try await client.cacheGet(prefix + bytes("a"))
        XCTAssertNil(gone)
        let none = try await client.cacheDelete([])
        XCTAssertEqual(none, 0)
        await client.close()
        await server.shutdown()
    }

    func testClearByPrefixLeavesEverythingElse() async throws {
        let server = try await BackendFixture.server()
        let client = try await connectedClient(server)
        let backends = try await BackendFixture.backends()
        let prefix = unique("clear")
        // Enough keys for several SCAN/UNLINK batches.
        let count = 1_234
        for index in 0..<count {
            try await client.cacheSet(prefix + bytes("doomed:\(index)"), value: bytes("\(index)"))
        }
        try await client.cacheSet(prefix + bytes("kept"), value: bytes("k"))
        // A key whose bytes are glob-special must not widen the match.
        try await client.cacheSet(prefix + bytes("doome*d"), value: bytes("star"))

        let redis = try await rawRedis()
        let ownPrefix = Array(backends.configuration.redisKeyPrefix.utf8)
        let foreign: [[UInt8]] = [
            bytes("another-program:") + prefix + bytes("doomed:1"),
            prefix + bytes("doomed:2"),                 // the same bytes, outside our key prefix
            ownPrefix + prefix + bytes("doomed:3"),     // our prefix but not the client key space
        ]
        for key in foreign {
            _ = try await redis.execute([bytes("SET"), key, bytes("theirs")])
        }

        let deleted = try await client.cacheClear(prefix: prefix + bytes("doomed:"))
        XCTAssertEqual(deleted, count)
        for index in [0, 1, 500, count - 1] {
            let value = try await client.cacheGet(prefix + bytes("doomed:\(index)"))
            XCTAssertNil(value)
        }
        let kept = try await client.cacheGet(prefix + bytes("kept"))
        XCTAssertEqual(kept, bytes("k"))
        let star = try await client.cacheGet(prefix + bytes("doome*d"))
        XCTAssertEqual(star, bytes("star"))
        for key in foreign {
            let reply = try await redis.execute([bytes("GET"), key])
            XCTAssertEqual(reply, .bulk(bytes("theirs")), "clear touched \(String(decoding: key, as: UTF8.self))")
        }
        let rest = try await client.cacheClear(prefix: prefix)
        XCTAssertEqual(rest, 2)
        for key in foreign {
            let reply = try await redis.execute([bytes("GET"), key])
            XCTAssertEqual(reply, .bulk(bytes("theirs")))
            _ = try await redis.execute([bytes("DEL"), key])
        }
        redis.close()
        await client.close()
        await server.shutdown()
    }

    func testInvalidArgumentsAreRefused() async throws {
        let server = try await BackendFixture.server()
        let client = try await connectedClient(server)
        func expectInvalid(field: String, _ call: () async throws -> Void) async {
            do {
                try await call()
                XCTFail("expected invalid_argument for \(field)")
            } catch let StoreClientError.server(body) {
                XCTAssertEqual(body.code, .invalidArgument)
                XCTAssertEqual(body.details["field"], .string(field))
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
        await expectInvalid(field: "key") { _ = try await client.cacheGet([]) }
        await expectInvalid(field: "key") { _ = try await client.cacheGet([UInt8](repeating: 1, count: CacheLimits.keyBytesMax + 1)) }
        await expectInvalid(field: "ttl_ms") {
            _ = try await client.send(opcode: .cacheSet, body: CacheSetRequest(key: [1], value: [2], timeToLiveMilliseconds: 0).encodedBody)
        }
        await expectInvalid(field: "ttl_ms") {
            _ = try await client.send(opcode: .cacheSet, body: CacheSetRequest(key: [1], value: [2], timeToLiveMilliseconds: UInt64.max).encodedBody)
        }
        await expectInvalid(field: "keys") {
            _ = try await client.cacheDelete(Array(repeating: [1], count: CacheLimits.deleteKeysMax + 1))
        }
        await expectInvalid(field: "value") {
            // A body cut short: the value's length says 10, 2 bytes follow.
            _ = try await client.send(opcode: .cacheSet, body: [1, 0, 0, 0, 0x41, 10, 0, 0, 0, 1, 2])
        }
        await client.close()
        await server.shutdown()
    }
}
