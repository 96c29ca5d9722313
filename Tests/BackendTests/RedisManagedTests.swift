// ManagedRedis: the private redis-server of the managed local mode.
import Foundation
import XCTest
@testable import StoreServerCore

final class RedisManagedTests: XCTestCase {
    func testStartsAnswersAndStops() async throws {
        let port = try RedisTestSupport.freePort()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("managed-redis-\(UUID().uuidString)", isDirectory: true)
        defer {
            // Best effort: a leftover temp directory does no harm.
            try? FileManager.default.removeItem(at: directory)
        }
        let managed = try await ManagedRedis.start(
            configuration: .init(port: port, dataDirectory: directory), logger: RedisTestSupport.logger)
        let connection = try await RedisConnection.connect(to: managed.endpoint, connectTimeout: .seconds(1),
                                                           commandTimeout: .seconds(1))
        let pong = try await connection.execute(["PING"])
        XCTAssertEqual(pong, .status("PONG"))
        let dir = try await connection.execute(["CONFIG", "GET", "dir"])
        XCTAssertEqual(dir, .array([.bulk(Array("dir".utf8)),
                                    .bulk(Array(directory.appendingPathComponent("redis").path.utf8))]))
        let save = try await connection.execute(["CONFIG", "GET", "save"])
        XCTAssertEqual(save, .array([.bulk(Array("save".utf8)), .bulk([])]), "no snapshots in managed mode")
        _ = try await connection.execute(["SET", "from-an-earlier-run", "stale"])
        _ = try await connection.execute(["SAVE"])
        connection.close()

        // A second server on the same port is refused rather than confused with ours.
        do {
            _ = try await ManagedRedis.start(configuration: .init(port: port, dataDirectory: directory),
                                             logger: RedisTestSupport.logger)
            XCTFail("the port is taken")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }

        await managed.stop()
        await managed.stop()  // A second stop is harmless.
        do {
            _ = try await RedisConnection.connect(to: managed.endpoint, connectTimeout: .seconds(1),
                                                  commandTimeout: .seconds(1))
            XCTFail("the server should be gone")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }

        // A restart starts empty even though a snapshot was left behind.
        let restarted = try await ManagedRedis.start(
            configuration: .init(port: port, dataDirectory: directory), logger: RedisTestSupport.logger)
        let fresh = try await RedisConnection.connect(to: restarted.endpoint, connectTimeout: .seconds(1),
                                                      commandTimeout: .seconds(1))
        let leftover = try await fresh.execute(["GET", "from-an-earlier-run"])
        XCTAssertEqual(leftover, .null, "cached values from an earlier run may be stale")
        fresh.close()
        await restarted.stop()
    }

    func testMissingExecutableIsReported() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("managed-redis-missing")
        let port = try RedisTestSupport.freePort()
        do {
            _ = try await ManagedRedis.start(
                configuration: .init(port: port, dataDirectory: directory,
                                     executablePath: "/nonexistent/redis-server"),
                logger: RedisTestSupport.logger)
            XCTFail("start should fail")
        } catch {
            guard case .unavailable(_, let reason, _) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("/nonexistent/redis-server"), reason)
        }
    }
}
