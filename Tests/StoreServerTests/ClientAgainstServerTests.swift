// StoreClient against the real server in process: multiplexing under 1,000 concurrent calls,
// timeouts, cancellation, errors and reconnect after a server restart.
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class ClientAgainstServerTests: XCTestCase {
    private func client(for server: Server, timeout: Duration = .seconds(10)) -> StoreClient {
        StoreClient(configuration: ClientConfiguration(port: server.port, defaultTimeout: timeout))
    }

    func testThousandConcurrentCallsOnOneConnectionGetTheirOwnResponses() async throws {
        let server = try makeTestServer()
        let client = client(for: server)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    // Random delays make the server finish them out of order.
                    let body = slowEchoBody(milliseconds: UInt32.random(in: 0...30), tag: UInt64(index))
                    let response = try await client.send(opcode: TestOpcode.slowEcho, body: body)
                    XCTAssertEqual(response.body, body)
                }
            }
            try await group.waitForAll()
        }
        let health = try await client.health()
        XCTAssertEqual(health.connectionCount, 1, "all calls shared one connection")
        await client.close()
        await server.shutdown()
    }

    func testServerDeadlineAndClientTimeoutAreDistinguishable() async throws {
        let server = try makeTestServer()
        let client = client(for: server)
        // The server's deadline (header timeout) fires first when the client allows longer locally.
        var writer = ByteWriter()
        writer.writeUInt32(2000)
        do {
            _ = try await client.send(opcode: TestOpcode.slowEcho, body: writer.bytes, timeout: .milliseconds(100))
            XCTFail("expected a timeout")
        } catch let error as StoreClientError {
            // Either side may win the race by a hair; both are retryable with unknown outcome.
            XCTAssertTrue(error.isRetryable)
            XCTAssertTrue(error.outcomeUnknown)
        }
        let echoed = try await client.send(opcode: TestOpcode.echo, body: [1, 2, 3])
        XCTAssertEqual(echoed.body, [1, 2, 3])
        await client.close()
        await server.shutdown()
    }

    func testCancellingATaskCancelsTheRequestOnTheServer() async throws {
        let server = try makeTestServer()
        let client = client(for: server)
        let task = Task { try await client.send(opcode: TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 5000)) }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(server.statistics.inFlightCount, 1)
        task.cancel()
        let result = await task.result
        XCTAssertThrowsError(try result.get())
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(server.statistics.inFlightCount, 0, "the server stopped the cancelled request")
        await client.close()
        await server.shutdown()
    }

    func testUnknownOpcodeIsAServerErrorThatIsNotRetryable() async throws {
        let server = try makeTestServer()
        let client = client(for: server)
        do {
            _ = try await client.send(opcode: Opcode(rawValue: 0x7E00))
            XCTFail("expected unknown_opcode")
        } catch let StoreClientError.server(body) {
            XCTAssertEqual(body.code, .unknownOpcode)
            XCTAssertFalse(StoreClientError.server(body).isRetryable)
        }
        await client.close()
        await server.shutdown()
    }
}
