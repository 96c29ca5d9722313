import Foundation
import Synchronization
import WireProtocol
import XCTest
@testable import StoreClient

/// Opcodes outside the session range, so the peer's handlers can give them test behaviour.
private let slowOpcode = Opcode(rawValue: 0x0F01)
private let bulkOpcode = Opcode(rawValue: 0x0F02)
private let failingOpcode = Opcode(rawValue: 0x0F03)
private let droppingOpcode = Opcode(rawValue: 0x0F04)
private let drainingOpcode = Opcode(rawValue: 0x0F05)
private let streamingOpcode = Opcode(rawValue: 0x0F06)

/// The client against the in-test peer (TestPeer.swift): multiplexing, timeouts, cancellation,
/// chunking, errors, reconnect and GO_AWAY.
final class StoreClientTests: XCTestCase {

    private func makeClient(_ peer: TestPeer, token: String? = nil, checksums: Bool = false) -> StoreClient {
        StoreClient(configuration: ClientConfiguration(port: peer.port, token: token, defaultTimeout: .seconds(10),
                                                       connectTimeout: .seconds(5), wantsChecksums: checksums))
    }

    private func expectClientError(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line,
                                   _ check: (StoreClientError) -> Void) async {
        do {
            try await body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as StoreClientError {
            check(error)
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testPingAndHealth() async throws {
        let peer = try TestPeer()
        defer { peer.stop() }
        let client = try await StoreClient.connect(to: makeClient(peer).configuration)
        let roundTrip = try await client.ping()
        XCTAssertGreaterThan(roundTrip, .zero)
        let health = try await client.health()
        XCTAssertEqual(health.status, .up)
        XCTAssertEqual(health.backends.first?.name, "postgres")
        XCTAssertEqual(client.serverHello?.capabilities[CapabilityKey.serverID], .string("test-peer"))
        await client.close()
    }

    /// 1,000 calls in flight on one connection; the peer holds every ping until all have
    /// arrived and answers them in reverse order, so each response must be matched by id.
    func testThousandConcurrentCallsMatchedByIDOutOfOrder() async throws {
        let callCount = 1000
        let held = Mutex<[Message]>([])
        let peer = try TestPeer { connection, message in
            guard message.opcode == .ping else { return false }
            let batch: [Message]? = held.withLock { held in
                held.append(message)
                guard held.count == callCount else { return nil }
                defer { held = [] }
                return held
            }
            for request in (batch ?? []).reversed() { connection.respond(to: request, body: request.body) }
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<callCount {
                group.addTask {
                    let payload = UInt64(index) * 7919 + 1
                    let response = try await client.send(opcode: .ping, body: PingMessage(payload: payload).encodedBody)
                    XCTAssertEqual(try PingMessage.decode(body: response.body).payload, payload)
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(peer.acceptedCount, 1)
        let connection = try XCTUnwrap(peer.connection(1))
        XCTAssertEqual(connection.idOrderViolations, 0, "request ids must strictly increase")
        XCTAssertEqual(connection.frames.filter { $0.opcode == .ping }.count, callCount)
        await client.close()
    }

    func testLocalTimeoutSendsCancelAndHeaderCarriesTimeout() async throws {
        let peer = try TestPeer { _, message in message.opcode == slowOpcode }  // Never answered.
        defer { peer.stop() }
        let client = makeClient(peer)
        let clock = ContinuousClock()
        let start = clock.now
        await expectClientError({ _ = try await client.send(opcode: slowOpcode, timeout: .milliseconds(200)) }) { error in
            XCTAssertEqual(error, .timedOut(after: .milliseconds(200)))
            XCTAssertTrue(error.outcomeUnknown)
            XCTAssertTrue(error.isRetryable)
        }
        XCTAssertLessThan(clock.now - start, .seconds(3))
        let connection = try XCTUnwrap(peer.connection(1))
        let request = try XCTUnwrap(connection.frames.first { $0.opcode == slowOpcode })
        XCTAssertEqual(request.header.timeoutMilliseconds, 200)
        let cancel = connection.waitForFrame { $0.opcode == .cancel }
        XCTAssertEqual(cancel?.requestID, request.requestID)
        // The connection stays usable after a timeout.
        _ = try await client.ping()
        await client.close()
    }

    func testTaskCancellationSendsCancel() async throws {
        let peer = try TestPeer { _, message in message.opcode == slowOpcode }
        defer { peer.stop() }
        let client = makeClient(peer)
        _ = try await client.ping()
        let call = Task { _ = try await client.send(opcode: slowOpcode) }
        let connection = try XCTUnwrap(peer.connection(1))
        let request = try XCTUnwrap(connection.waitForFrame { $0.opcode == slowOpcode })
        call.cancel()
        await expectClientError({ try await call.value }) { error in
            XCTAssertEqual(error, .cancelled)
            XCTAssertTrue(error.outcomeUnknown)
        }
        XCTAssertEqual(connection.waitForFrame { $0.opcode == .cancel }?.requestID, request.requestID)
        await client.close()
    }

    /// A 3 MB request goes out in 1 MiB chunks and is joined by the peer; its 2.5 MB answer comes
    /// back chunked and is joined by the client.
    func testChunkedRequestAndResponseBodies() async throws {
        let requestBody = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let responseBody = (0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 17) }
        let peer = try TestPeer { connection, message in
            guard message.opcode == bulkOpcode else { return false }
            if message.body == requestBody {
                connection.respond(to: message, body: responseBody)
            } else {
                connection.respond(to: message, error: ErrorBody(code: .invalidArgument, message: "body mismatch"))
            }
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer, checksums: true)
        let response = try await client.send(opcode: bulkOpcode, body: requestBody)
        XCTAssertEqual(response.body.count, responseBody.count)
        XCTAssertTrue(response.body == responseBody)
        let frames = try XCTUnwrap(peer.connection(1)).frames.filter { $0.opcode == bulkOpcode }
        XCTAssertEqual(frames.count, 3)
        XCTAssertTrue(frames.allSatisfy { $0.body.count <= ProtocolLimits.frameBodyBytesMaxDefault })
        XCTAssertTrue(frames.allSatisfy { $0.flags.contains(.checksum) })
        await client.close()
    }

    func testServerErrorIsDecodedWithFlagsAndDetails() async throws {
        let peer = try TestPeer { connection, message in
            guard message.opcode == failingOpcode else { return false }
            let payload = try? PingMessage.decode(body: message.body)  // Absent payload: first error kind.
            if payload?.payload == 2 {
                connection.respond(to: message, error: ErrorBody(code: .deadlineExceeded, message: "too slow"))
            } else {
                connection.respond(to: message, error: ErrorBody(code: .overloaded, flags: [.retryable],
                                                                 message: "too many requests in flight",
                                                                 details: ["limit": .int(1024), "retry_after_ms": .int(50)]))
            }
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer)
        await expectClientError({ _ = try await client.send(opcode: failingOpcode) }) { error in
            guard case let .server(body) = error else { return XCTFail("expected a server error, got \(error)") }
            XCTAssertEqual(body.code, .overloaded)
            XCTAssertEqual(body.flags, [.retryable])
            XCTAssertEqual(body.message, "too many requests in flight")
            XCTAssertEqual(body.details["retry_after_ms"], .int(50))
            XCTAssertTrue(error.isRetryable)
            XCTAssertFalse(error.outcomeUnknown)
        }
        await expectClientError({
            _ = try await client.send(opcode: failingOpcode, body: PingMessage(payload: 2).encodedBody)
        }) { error in
            XCTAssertEqual(error, .server(ErrorBody(code: .deadlineExceeded, message: "too slow")))
            XCTAssertTrue(error.isRetryable)
            XCTAssertTrue(error.outcomeUnknown)
        }
        await client.close()
    }

    func testConnectionDropFailsInFlightThenNextCallReconnects() async throws {
        let peer = try TestPeer { connection, message in
            guard message.opcode == droppingOpcode else { return false }
            connection.close()
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer)
        await expectClientError({ _ = try await client.send(opcode: droppingOpcode) }) { error in
            guard case .connectionLost = error else { return XCTFail("expected connectionLost, got \(error)") }
            XCTAssertTrue(error.outcomeUnknown)
            XCTAssertTrue(error.isRetryable)
        }
        _ = try await client.ping()
        XCTAssertEqual(peer.acceptedCount, 2)
        await client.close()
    }

    func testConnectFailureThenRecoveryWithBackoff() async throws {
        XCTAssertEqual(StoreClient.reconnectDelay(afterFailures: 0), .zero)
        XCTAssertEqual(StoreClient.reconnectDelay(afterFailures: 1), .milliseconds(50))
        XCTAssertEqual(StoreClient.reconnectDelay(afterFailures: 3), .milliseconds(200))
        XCTAssertEqual(StoreClient.reconnectDelay(afterFailures: 40), .seconds(2))
        // Port 1 on loopback refuses connections.
        let client = StoreClient(configuration: ClientConfiguration(port: 1, connectTimeout: .seconds(1)))
        await expectClientError({ _ = try await client.ping() }) { error in
            guard case .connectFailed = error else { return XCTFail("expected connectFailed, got \(error)") }
            XCTAssertTrue(error.isRetryable)
            XCTAssertFalse(error.outcomeUnknown)
        }
    }

    /// GO_AWAY names the last request the server will complete: that one is answered on the old
    /// connection, the later one is re-sent transparently on a new connection.
    func testGoAwayResendsUnexecutedRequestOnNewConnection() async throws {
        let held = Mutex<Message?>(nil)
        let peer = try TestPeer { connection, message in
            guard message.opcode == drainingOpcode else { return false }
            guard connection.index == 1 else {
                connection.respond(to: message, body: [2])
                return true
            }
            let first: Message? = held.withLock { held in
                if held == nil { held = message; return nil }
                return held
            }
            guard let first else { return true }  // Hold the first request.
            connection.sendServerFrame(opcode: .goAway, body: GoAway(lastRequestID: first.requestID,
                                                                     message: "server shutting down").encodedBody)
            connection.respond(to: first, body: [1])
            connection.respond(to: message, error: ErrorBody(code: .shuttingDown, message: "server is shutting down"))
            connection.close()
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer)
        let firstCall = Task { try await client.send(opcode: drainingOpcode).body }
        // Let the first request reach the peer before the second is sent.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while peer.connection(1)?.frames.contains(where: { $0.opcode == drainingOpcode }) != true && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let second = try await client.send(opcode: drainingOpcode)
        let first = try await firstCall.value
        XCTAssertEqual(first, [1])
        XCTAssertEqual(second.body, [2])
        XCTAssertEqual(peer.acceptedCount, 2)
        await client.close()
    }

    func testServerPingIsAnswered() async throws {
        let peer = try TestPeer()
        defer { peer.stop() }
        let client = makeClient(peer, checksums: true)
        _ = try await client.ping()
        let connection = try XCTUnwrap(peer.connection(1))
        connection.sendServerFrame(opcode: .ping, body: PingMessage(payload: 0xABCDEF).encodedBody)
        let pong = try XCTUnwrap(connection.waitForFrame { $0.opcode == .ping && $0.requestID == 0 })
        XCTAssertTrue(pong.flags.contains(.response))
        XCTAssertEqual(try PingMessage.decode(body: pong.body).payload, 0xABCDEF)
        await client.close()
    }

    func testStreamYieldsPartialsThenFinal() async throws {
        let peer = try TestPeer { connection, message in
            guard message.opcode == streamingOpcode else { return false }
            connection.respond(to: message, body: [1], flags: [.response, .stream])
            connection.respond(to: message, body: [2], flags: [.response, .stream])
            connection.respond(to: message, body: [3])
            return true
        }
        defer { peer.stop() }
        let client = makeClient(peer)
        var bodies: [[UInt8]] = []
        for try await message in try await client.stream(opcode: streamingOpcode) {
            bodies.append(message.body)
        }
        XCTAssertEqual(bodies, [[1], [2], [3]])
        // A plain call skips the partial results and returns the final one.
        let final = try await client.send(opcode: streamingOpcode)
        XCTAssertEqual(final.body, [3])
        await client.close()
    }

    func testAuthenticationWithToken() async throws {
        let peer = try TestPeer(options: TestPeer.Options(authenticationRequired: true)) { connection, message in
            guard message.opcode == .auth else { return false }
            let request = try? AuthRequest.decode(body: message.body)  // Undecodable: treated as a wrong token.
            if request?.credential == Array("s3cret".utf8) {
                connection.respond(to: message, body: AuthResponse(principal: "agent-fleet").encodedBody)
            } else {
                connection.respond(to: message, error: ErrorBody(code: .authFailed, message: "authentication failed"))
            }
            return true
        }
        defer { peer.stop() }
        let good = try await StoreClient.connect(to: makeClient(peer, token: "s3cret").configuration)
        _ = try await good.health()
        await good.close()
        await expectClientError({ _ = try await StoreClient.connect(to: self.makeClient(peer, token: "wrong").configuration) }) { error in
            XCTAssertEqual(error, .server(ErrorBody(code: .authFailed, message: "authentication failed")))
            XCTAssertFalse(error.isRetryable)
        }
        await expectClientError({ _ = try await StoreClient.connect(to: self.makeClient(peer).configuration) }) { error in
            guard case .handshakeFailed = error else { return XCTFail("expected handshakeFailed, got \(error)") }
        }
    }

    func testUnsupportedVersionIsAServerError() async throws {
        let peer = try TestPeer(options: TestPeer.Options(rejectsEveryVersion: true))
        defer { peer.stop() }
        await expectClientError({ _ = try await StoreClient.connect(to: self.makeClient(peer).configuration) }) { error in
            guard case let .server(body) = error else { return XCTFail("expected a server error, got \(error)") }
            XCTAssertEqual(body.code, .unsupportedVersion)
            XCTAssertEqual(body.details["min_version"], .int(7))
            XCTAssertFalse(error.isRetryable)
        }
    }

    func testCloseSaysGoodbyeAndRejectsLaterCalls() async throws {
        let peer = try TestPeer()
        defer { peer.stop() }
        let client = makeClient(peer)
        _ = try await client.ping()
        await client.close()
        let connection = try XCTUnwrap(peer.connection(1))
        XCTAssertNotNil(connection.waitForFrame { $0.opcode == .goodbye })
        await expectClientError({ _ = try await client.ping() }) { error in
            XCTAssertEqual(error, .closed)
        }
    }
}
