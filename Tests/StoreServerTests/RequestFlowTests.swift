// Pipelining, out-of-order responses, cancel, timeouts, in-flight limit, streaming, chunking.
import XCTest
import StoreServerCore
import WireProtocol

final class RequestFlowTests: XCTestCase {
    func testThousandPipelinedRequestsAreAnsweredOutOfOrderAndMatchedById() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        var random = SystemRandomNumberGenerator()
        var expected: [UInt64: [UInt8]] = [:]
        var batch = ByteWriter()
        for index in 0..<1000 {
            let id = connection.takeRequestID()
            // Deferred requests with random delays finish out of order; every tenth is immediate.
            let body = slowEchoBody(milliseconds: UInt32.random(in: 0...40, using: &random), tag: UInt64(index))
            let opcode = index % 10 == 0 ? TestOpcode.echo : TestOpcode.slowEcho
            Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: [], requestID: id), body: body)
                .append(to: &batch)
            expected[id] = body
        }
        try connection.write(batch.bytes)
        var order: [UInt64] = []
        for _ in 0..<1000 {
            let frame = try connection.readFrame()
            XCTAssertTrue(frame.flags.contains(.response))
            XCTAssertEqual(expected.removeValue(forKey: frame.requestID), frame.body, "response \(frame.requestID)")
            order.append(frame.requestID)
        }
        XCTAssertTrue(expected.isEmpty)
        XCTAssertNotEqual(order, order.sorted(), "responses should have come back out of order")
    }

    func testCancelAnswersThePendingRequestWithCancelled() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let slow = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 5000))
        let start = ContinuousClock.now
        try connection.send(.cancel, requestID: slow)
        let frame = try connection.readFrame()
        XCTAssertEqual(frame.requestID, slow)
        XCTAssertEqual(frame.errorBody?.code, .cancelled)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
        // Cancelling a finished or unknown request is ignored; the connection keeps working.
        try connection.send(.cancel, requestID: 12345)
        XCTAssertNil(try connection.request(.ping, body: PingMessage(payload: 3).encodedBody).errorBody)
        XCTAssertEqual(server.statistics.inFlightCount, 0)
    }

    func testRequestTimeoutGivesDeadlineExceeded() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let start = ContinuousClock.now
        let frame = try connection.request(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 3000), timeoutMilliseconds: 100)
        let elapsed = ContinuousClock.now - start
        let error = try XCTUnwrap(frame.errorBody)
        XCTAssertEqual(error.code, .deadlineExceeded)
        XCTAssertTrue(error.flags.contains(.retryable))
        XCTAssertTrue(error.flags.contains(.outcomeUnknown))
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(100))
        XCTAssertLessThan(elapsed, .milliseconds(1500))
    }

    func testOverTheInFlightLimitIsOverloaded() throws {
        let server = try makeTestServer { $0.limits.inFlightRequestsMax = 4 }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        var ids: [UInt64] = []
        for _ in 0..<6 { ids.append(try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 300))) }
        var outcomes: [UInt64: String] = [:]
        for _ in 0..<6 {
            let frame = try connection.readFrame()
            outcomes[frame.requestID] = frame.errorBody?.code.name ?? "ok"
        }
        XCTAssertEqual(outcomes.count, 6)
        XCTAssertEqual(outcomes[ids[4]], "overloaded")
        XCTAssertEqual(outcomes[ids[5]], "overloaded")
        for id in ids.prefix(4) { XCTAssertEqual(outcomes[id], "ok", "request \(id) should succeed") }
    }

    func testOverloadedErrorCarriesRetryHint() throws {
        let server = try makeTestServer { $0.limits.inFlightRequestsMax = 1 }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 200))
        try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 0))
        let frame = try connection.readFrame()
        let error = try XCTUnwrap(frame.errorBody)
        XCTAssertEqual(error.code, .overloaded)
        XCTAssertTrue(error.flags.contains(.retryable))
        XCTAssertNotNil(error.details["retry_after_ms"]?.intValue)
    }

    func testStreamedResultSendsPartialsThenFinal() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        var writer = ByteWriter()
        writer.writeUInt32(5)
        let id = try connection.send(TestOpcode.streamCount, body: writer.bytes)
        var partials: [UInt32] = []
        while true {
            let frame = try connection.readFrame()
            XCTAssertEqual(frame.requestID, id)
            var reader = ByteReader(frame.body)
            let value = try reader.readUInt32()
            if frame.flags.contains(.stream) {
                partials.append(value)
            } else {
                XCTAssertEqual(value, 5)
                break
            }
        }
        XCTAssertEqual(partials, [0, 1, 2, 3, 4])
    }

    func testChunkedRequestAndResponseTravelInPiecesAndInterleave() throws {
        let server = try makeTestServer { $0.limits.frameBodyBytesMax = 64 << 10 }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bigID = connection.takeRequestID()
        let frames = MessageFramer.frames(opcode: TestOpcode.echo, flags: [], requestID: bigID, body: big, bodyBytesMax: 64 << 10)
        XCTAssertEqual(frames.count, 5)
        // A ping slips in between the chunks of the big request.
        try connection.write(frames[0].encoded())
        let pingID = try connection.send(.ping, body: PingMessage(payload: 1).encodedBody)
        for frame in frames.dropFirst() { try connection.write(frame.encoded()) }
        let pong = try connection.readFrame()
        XCTAssertEqual(pong.requestID, pingID)
        var assembler = MessageAssembler(bufferedBytesMax: 1 << 20)
        var echoed: Message?
        var responseFrames = 0
        while echoed == nil {
            let frame = try connection.readFrame()
            XCTAssertLessThanOrEqual(frame.body.count, 64 << 10)
            responseFrames += 1
            echoed = try assembler.add(frame)
        }
        XCTAssertEqual(responseFrames, 5)
        XCTAssertEqual(echoed?.requestID, bigID)
        XCTAssertEqual(echoed?.body, big)
    }

    func testUnknownOpcodeKeepsTheConnection() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        XCTAssertEqual(try connection.request(Opcode(rawValue: 0x7777)).errorBody?.code, .unknownOpcode)
        XCTAssertNil(try connection.request(.ping, body: PingMessage(payload: 3).encodedBody).errorBody)
    }

    func testMalformedBodyIsARequestErrorNotAClose() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let frame = try connection.request(.ping, body: [1, 2, 3])
        XCTAssertEqual(frame.errorBody?.code, .invalidArgument)
        XCTAssertNil(try connection.request(.ping, body: PingMessage(payload: 3).encodedBody).errorBody)
    }

    func testRequestIDsMustIncrease() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        try connection.send(.ping, body: PingMessage(payload: 1).encodedBody, requestID: 10)
        _ = try connection.readFrame()
        try connection.send(.ping, body: PingMessage(payload: 1).encodedBody, requestID: 10)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.last?.errorBody?.code, .malformedFrame)
    }

    func testHealthReportsConnectionsAndUptime() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let other = try RawConnection(port: server.port)
        try other.handshake()
        let health = try HealthResponse.decode(body: try connection.request(.health).body)
        XCTAssertEqual(health.status, .up)
        XCTAssertEqual(health.connectionCount, 2)
        XCTAssertEqual(health.protocolVersion, 1)
        XCTAssertEqual(health.serverVersion, ServerVersion.current)
    }

    func testGoodbyeFinishesInFlightThenCloses() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let slow = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 200))
        let goodbye = try connection.send(.goodbye)
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.map(\.requestID), [slow, goodbye])
        XCTAssertNil(frames[0].errorBody)
        XCTAssertEqual(frames[1].opcode, .goodbye)
    }

    func testDeadlinesExpireInDeadlineOrderWhateverTheArrivalOrder() throws {
        let server = try makeTestServer()
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        // A later request with an earlier deadline must re-arm the connection's one timer.
        let slowest = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 3000), timeoutMilliseconds: 600)
        let fastest = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 3000), timeoutMilliseconds: 100)
        let middle = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 3000), timeoutMilliseconds: 300)
        let finishes = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 10), timeoutMilliseconds: 5000)
        let start = ContinuousClock.now
        var order: [UInt64] = []
        var elapsed: [UInt64: Duration] = [:]
        for _ in 0..<4 {
            let frame = try connection.readFrame()
            order.append(frame.requestID)
            elapsed[frame.requestID] = ContinuousClock.now - start
            XCTAssertEqual(frame.errorBody?.code, frame.requestID == finishes ? nil : .deadlineExceeded)
        }
        XCTAssertEqual(order, [finishes, fastest, middle, slowest])
        XCTAssertGreaterThanOrEqual(elapsed[fastest]!, .milliseconds(90))
        XCTAssertLessThan(elapsed[slowest]!, .milliseconds(2000))
        XCTAssertEqual(server.statistics.inFlightCount, 0)
    }
}
