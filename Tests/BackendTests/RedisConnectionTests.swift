// RedisConnection and RedisPool against the real Redis from TEST_REDIS_URL.
import Foundation
import XCTest
@testable import StoreServerCore

final class RedisConnectionTests: XCTestCase {
    /// Every byte value, plus the sequences a text protocol would trip over.
    private static let allBytes: [UInt8] = Array(0...255) + [0, 13, 10, 0xFF, 0, 0x24, 0x2A] + Array("\r\n$-1\r\n".utf8)

    func testBinaryValuesAndKeysRoundTripThroughConnection() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let connection = try await RedisConnection.connect(to: endpoint, connectTimeout: .seconds(1),
                                                           commandTimeout: .seconds(2))
        defer { connection.close() }
        let key = RedisTestSupport.bytes(RedisTestSupport.uniquePrefix()) + [0, 13, 10, 0xFF, 0x2A]
        let setReply = try await connection.execute([Array("SET".utf8), key, Self.allBytes])
        XCTAssertEqual(setReply, .status("OK"))
        let getReply = try await connection.execute([Array("GET".utf8), key])
        XCTAssertEqual(getReply, .bulk(Self.allBytes))
        let empty = try await connection.execute([Array("SET".utf8), key, []])
        XCTAssertEqual(empty, .status("OK"))
        let emptyBack = try await connection.execute([Array("GET".utf8), key])
        XCTAssertEqual(emptyBack, .bulk([]))
        _ = try await connection.execute([Array("DEL".utf8), key])
    }

    func testPipelineReturnsRepliesInOrderAndErrorRepliesAreValues() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let connection = try await RedisConnection.connect(to: endpoint, connectTimeout: .seconds(1),
                                                           commandTimeout: .seconds(2))
        defer { connection.close() }
        let key = RedisTestSupport.bytes(RedisTestSupport.uniquePrefix() + "counter")
        let replies = try await connection.pipeline([
            [Array("INCR".utf8), key],
            [Array("INCRBY".utf8), key, Array("41".utf8)],
            [Array("NOSUCHCOMMAND".utf8)],
            [Array("GET".utf8), key],
            [Array("HGET".utf8), key, Array("field".utf8)],
            [Array("MGET".utf8), key, key + [1]],
            [Array("DEL".utf8), key],
        ])
        XCTAssertEqual(replies.count, 7)
        XCTAssertEqual(replies[0], .integer(1))
        XCTAssertEqual(replies[1], .integer(42))
        guard case .error(let unknown) = replies[2] else { return XCTFail("expected an error reply") }
        XCTAssertTrue(unknown.contains("unknown command"), unknown)
        XCTAssertEqual(replies[3], .bulk(Array("42".utf8)))
        guard case .error(let wrongType) = replies[4] else { return XCTFail("expected WRONGTYPE") }
        XCTAssertTrue(wrongType.hasPrefix("WRONGTYPE"), wrongType)
        XCTAssertEqual(replies[5], .array([.bulk(Array("42".utf8)), .null]))
        XCTAssertEqual(replies[6], .integer(1))
        XCTAssertFalse(connection.isBroken, "error replies must not break the connection")
    }

    func testConnectingWhereNothingListensFailsFastAsUnavailable() async throws {
        let port = try RedisTestSupport.freePort()
        let started = ContinuousClock.now
        do {
            _ = try await RedisConnection.connect(to: RedisEndpoint(port: port), connectTimeout: .seconds(1),
                                                  commandTimeout: .seconds(1))
            XCTFail("connect should fail")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
        let pool = RedisPool(configuration: .init(endpoint: RedisEndpoint(port: port)),
                             logger: RedisTestSupport.logger)
        defer { pool.shutdown() }
        for _ in 0..<3 {
            do {
                _ = try await pool.execute(["PING"])
                XCTFail("PING should fail")
            } catch {
                guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
            }
        }
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
    }

    func testStalledServerTimesOutInsteadOfHanging() async throws {
        // Accepts connections but never answers, like a frozen server.
        let listener = try ListeningSocket()
        defer { listener.close() }
        let connection = try await RedisConnection.connect(to: RedisEndpoint(port: listener.port),
                                                           connectTimeout: .seconds(1),
                                                           commandTimeout: .milliseconds(200))
        defer { connection.close() }
        let started = ContinuousClock.now
        do {
            _ = try await connection.execute(["PING"])
            XCTFail("PING should time out")
        } catch {
            guard case .unavailable(_, _, let outcomeUnknown) = error else {
                return XCTFail("expected .unavailable, got \(error)")
            }
            XCTAssertTrue(outcomeUnknown)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        XCTAssertTrue(connection.isBroken)
    }

    func testPoolReplacesAKilledConnection() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let pool = RedisTestSupport.pool(endpoint, size: 1)
        defer { pool.shutdown() }
        guard case .integer(let clientID) = try await pool.execute(["CLIENT", "ID"]) else {
            return XCTFail("CLIENT ID should return an integer")
        }
        let admin = try await RedisConnection.connect(to: endpoint, connectTimeout: .seconds(1),
                                                      commandTimeout: .seconds(2))
        defer { admin.close() }
        let killed = try await admin.execute(["CLIENT", "KILL", "ID", String(clientID)])
        XCTAssertEqual(killed, .integer(1))
        // The pooled connection is dead: the first use may find out (and fail as unavailable);
        // the one after must work on a fresh connection.
        do {
            _ = try await pool.execute(["PING"])
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
        let reply = try await pool.execute(["PING"])
        XCTAssertEqual(reply, .status("PONG"))
        guard case .integer(let newID) = try await pool.execute(["CLIENT", "ID"]) else {
            return XCTFail("CLIENT ID should return an integer")
        }
        XCTAssertNotEqual(newID, clientID)
    }

    func testPoolServesMoreConcurrentCallersThanConnections() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let pool = RedisTestSupport.pool(endpoint, size: 2)
        defer { pool.shutdown() }
        let key = RedisTestSupport.uniquePrefix() + "n"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    _ = try await pool.execute(["INCR", key]).checked(for: "INCR")
                }
            }
            try await group.waitForAll()
        }
        let reply = try await pool.execute(["GET", key])
        XCTAssertEqual(reply, .bulk(Array("40".utf8)))
        _ = try await pool.execute(["DEL", key])
    }

    func testEndpointParsesURLs() throws {
        XCTAssertEqual(try RedisEndpoint(url: "redis://127.0.0.1:56379"), RedisEndpoint(port: 56379))
        XCTAssertEqual(try RedisEndpoint(url: "redis://:secret@cache.local/3"),
                       RedisEndpoint(host: "cache.local", port: 6379, password: "secret", database: 3))
        XCTAssertThrowsError(try RedisEndpoint(url: "rediss://host:6380"))
        XCTAssertFalse(RedisEndpoint(password: "secret").description.contains("secret"))
    }
}
