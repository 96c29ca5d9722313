// RedisPool's automatic pipelining against the test Redis: many concurrent commands over one
// connection each get their own reply, in order per caller, including binary values.
import Foundation
import XCTest
@testable import StoreServerCore

final class RedisAutoPipelineTests: XCTestCase {
    func testConcurrentCommandsOnOneConnectionGetTheirOwnReplies() async throws {
        let endpoint = try RedisTestSupport.endpoint()
        let pool = RedisTestSupport.pool(endpoint, size: 1)
        defer { pool.shutdown() }
        let prefix = RedisTestSupport.uniquePrefix()
        let callers = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<callers {
                group.addTask {
                    let key = Array("\(prefix)\(index)".utf8)
                    let value: [UInt8] = [0x00, 0x0D, 0x0A, 0xFF] + Array("\(index)".utf8)
                    let set = try await pool.execute([Array("SET".utf8), key, value])
                    XCTAssertEqual(set, .status("OK"))
                    let got = try await pool.execute([Array("GET".utf8), key])
                    XCTAssertEqual(got, .bulk(value), "caller \(index) got another caller's reply")
                    let deleted = try await pool.execute([Array("UNLINK".utf8), key])
                    XCTAssertEqual(deleted, .integer(1))
                }
            }
            try await group.waitForAll()
        }
    }

    func testQueuedCommandsFailWhenRedisIsGone() async throws {
        let pool = RedisPool(configuration: .init(endpoint: RedisEndpoint(port: try RedisTestSupport.freePort()), size: 2),
                             logger: RedisTestSupport.logger)
        defer { pool.shutdown() }
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    do {
                        _ = try await pool.execute(["PING"])
                        return false
                    } catch let error as BackendError {
                        guard case .unavailable = error else { return false }
                        return true
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(failures, 200, "every queued command fails with .unavailable, none hangs")
    }
}
