// Graceful shutdown: go-away, in-flight requests finish, later ones are refused as retryable,
// and the real executable does the same on SIGTERM.
import XCTest
import Foundation
import StoreServerCore
import WireProtocol

final class DrainTests: XCTestCase {
    func testShutdownSendsGoAwayAndFinishesInFlightRequests() async throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let first = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 300, tag: 1))
        let second = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 400, tag: 2))
        try await Task.sleep(for: .milliseconds(50))
        let shutdown = Task { await server.shutdown() }
        let goAway = try connection.readFrame()
        XCTAssertEqual(goAway.opcode, .goAway)
        XCTAssertEqual(try GoAway.decode(body: goAway.body).lastRequestID, second)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(Set(frames.map(\.requestID)), [first, second])
        XCTAssertTrue(frames.allSatisfy { $0.errorBody == nil })
        await shutdown.value
        XCTAssertEqual(server.statistics.connectionCount, 0)
        XCTAssertThrowsError(try RawConnection(port: server.port), "the listener is closed")
    }

    func testRequestsAfterGoAwayAreRefusedAsRetryable() async throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let slow = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 400))
        try await Task.sleep(for: .milliseconds(50))
        let shutdown = Task { await server.shutdown() }
        XCTAssertEqual(try connection.readFrame().opcode, .goAway)
        let late = try connection.send(.ping, body: PingMessage(payload: 1).encodedBody)
        let frames = try connection.readUntilClosed()
        let lateAnswer = try XCTUnwrap(frames.first { $0.requestID == late })
        XCTAssertEqual(lateAnswer.errorBody?.code, .shuttingDown)
        XCTAssertTrue(lateAnswer.errorBody!.flags.contains(.retryable))
        XCTAssertNil(frames.first { $0.requestID == slow }?.errorBody)
        await shutdown.value
    }

    func testExecutableDrainsOnSIGTERM() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("store-server")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            // `swift test` builds every product; a missing binary means the build layout changed.
            XCTFail("store-server not found next to the test bundle at \(binary.path)")
            return
        }
        let port = UInt16.random(in: 20000...40000)
        let process = Process()
        process.executableURL = binary
        let environment = ProcessInfo.processInfo.environment
        guard let databaseURL = environment["TEST_DATABASE_URL"], let redisURL = environment["TEST_REDIS_URL"] else {
            throw BackendFixture.MissingEnvironment()
        }
        process.arguments = ["--port", String(port), "--log-level", "error", "--database-url", databaseURL,
                             "--redis-url", redisURL, "--data-dir", NSTemporaryDirectory() + "store-drain-test"]
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var connection: RawConnection?
        for _ in 0..<100 where connection == nil {
            connection = try? RawConnection(port: port) // Not listening yet: retry shortly.
            if connection == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let client = try XCTUnwrap(connection, "server did not start listening")
        try client.handshake()
        // Health goes through the deferred path, so it is in flight when the signal lands.
        var ids: [UInt64] = []
        for _ in 0..<50 { ids.append(try client.send(.health)) }
        kill(process.processIdentifier, SIGTERM)
        let frames = try client.readUntilClosed()
        let answered = Set(frames.filter { $0.opcode == .health }.map(\.requestID))
        let goAway = frames.first { $0.opcode == .goAway }
        if let goAway {
            let last = try GoAway.decode(body: goAway.body).lastRequestID
            // Every request up to the announced id got its real answer.
            for id in ids where id <= last {
                XCTAssertTrue(answered.contains(id), "request \(id) <= \(last) lost its response")
            }
        } else {
            XCTAssertEqual(answered, Set(ids), "without go-away every request must have been answered first")
        }
        XCTAssertTrue(frames.filter { $0.opcode == .health }.allSatisfy { $0.errorBody == nil || $0.errorBody?.code == .shuttingDown })
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
