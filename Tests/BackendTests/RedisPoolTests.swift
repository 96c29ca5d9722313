// RedisPool behaviour that needs no live Redis data: exhaustion and shutdown.
import Foundation
import XCTest
@testable import StoreServerCore

final class RedisPoolTests: XCTestCase {
    func testBusyPoolGivesUpWithPoolExhausted() async throws {
        // A server that never answers keeps the only connection busy for the command timeout.
        let listener = try ListeningSocket()
        defer { listener.close() }
        let pool = RedisPool(configuration: .init(endpoint: RedisEndpoint(port: listener.port), size: 1,
                                                  commandTimeout: .milliseconds(600),
                                                  acquireTimeout: .milliseconds(100)),
                             logger: RedisTestSupport.logger)
        defer { pool.shutdown() }
        let stuck = Task { try await pool.execute(["PING"]) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        do {
            _ = try await pool.execute(["PING"])
            XCTFail("the second caller should not get a connection")
        } catch {
            XCTAssertEqual(error, .poolExhausted(backend: "redis"))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
        do {
            _ = try await stuck.value
            XCTFail("the stuck PING should time out")
        } catch let error as BackendError {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
    }

    func testShutdownRefusesFurtherCalls() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let pool = RedisTestSupport.pool(endpoint)
        let pong = try await pool.execute(["PING"])
        XCTAssertEqual(pong, .status("PONG"))
        pool.shutdown()
        do {
            _ = try await pool.execute(["PING"])
            XCTFail("a shut-down pool must refuse calls")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected .unavailable, got \(error)") }
        }
    }
}
