// Limits that protect the server from its clients: idle and slow connections, handshake
// deadline, connection count, output backpressure, server pings.
import XCTest
import Glibc
import StoreServerCore
import WireProtocol

final class ConnectionLimitTests: XCTestCase {
    func testIdleConnectionGetsGoAwayThenClose() throws {
        let server = try makeTestServer { $0.limits.idleTimeoutMilliseconds = 300 }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let start = ContinuousClock.now
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.map(\.opcode), [.goAway])
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(250))
        XCTAssertEqual(try GoAway.decode(body: frames[0].body).message, "idle timeout")
    }

    func testSlowSenderIsClosed() throws {
        let server = try makeTestServer { $0.frameCompletionTimeout = .milliseconds(300) }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let frame = Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: 1),
                          body: PingMessage(payload: 1).encodedBody).encoded()
        // Half a frame, then silence.
        try connection.write(Array(frame.prefix(20)))
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.first?.errorBody?.code, .deadlineExceeded)
    }

    func testHandshakeDeadline() throws {
        let server = try makeTestServer { $0.handshakeTimeout = .milliseconds(200) }
        let connection = try RawConnection(port: server.port)
        try connection.write(Array(Preface.magic.prefix(2)))
        let frames = try connection.readUntilClosed()
        XCTAssertEqual(frames.first?.errorBody?.code, .deadlineExceeded)
    }

    func testConnectionLimitRefusesExtraConnections() throws {
        let server = try makeTestServer { $0.connectionsMax = 2 }
        let first = try RawConnection(port: server.port)
        try first.handshake()
        let second = try RawConnection(port: server.port)
        try second.handshake()
        let third = try RawConnection(port: server.port)
        let frames = try third.readUntilClosed()
        XCTAssertEqual(frames.first?.errorBody?.code, .overloaded)
        // Existing connections are unaffected.
        XCTAssertNil(try first.request(.ping, body: PingMessage(payload: 1).encodedBody).errorBody)
    }

    func testClientThatDoesNotReadPausesOnlyItself() throws {
        let server = try makeTestServer {
            $0.outputBufferBytesHigh = 256 << 10
            $0.outputBufferBytesLow = 64 << 10
        }
        let hog = try RawConnection(port: server.port)
        try hog.handshake()
        // The hog does not read until the end, so the server's output to it backs up past the
        // kernel's socket buffers. (Shrinking SO_RCVBUF instead stalls loopback TCP on
        // zero-window probes for tens of seconds, which tests the kernel, not the server.)
        let body = [UInt8](repeating: 0x5A, count: 60_000)
        var batch = ByteWriter()
        for _ in 0..<400 {
            Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: TestOpcode.echo, flags: [], requestID: hog.takeRequestID()),
                  body: body).append(to: &batch)
        }
        // The server stops reading the hog once its output is full, so this write may block;
        // do it from another thread.
        let descriptor = hog.descriptor
        let bytes = batch.bytes
        let writer = Thread {
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                // A failed send ends the writer; the assertions below will then fail loudly.
                if written <= 0 { return }
                offset += written
            }
        }
        writer.start()
        Thread.sleep(forTimeInterval: 0.5)
        let other = try RawConnection(port: server.port)
        try other.handshake()
        let start = ContinuousClock.now
        XCTAssertNil(try other.request(.ping, body: PingMessage(payload: 9).encodedBody).errorBody)
        XCTAssertLessThan(ContinuousClock.now - start, .milliseconds(500))
        // Draining the hog lets everything through.
        var received = 0
        while received < 400 {
            let frame = try hog.readFrame()
            XCTAssertEqual(frame.body.count, body.count)
            received += 1
        }
    }

    func testServerPingsASilentClientWithRequestsInFlight() throws {
        let server = try makeTestServer { $0.limits.idleTimeoutMilliseconds = 600 }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        let slow = try connection.send(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 900))
        let ping = try connection.readFrame()
        XCTAssertEqual(ping.opcode, .ping)
        XCTAssertEqual(ping.requestID, 0)
        XCTAssertFalse(ping.flags.contains(.response))
        // Answer it, and the slow request completes normally.
        try connection.send(.ping, body: ping.body, requestID: 0, flags: .response)
        var frame = try connection.readFrame()
        while frame.opcode == .ping { try connection.send(.ping, body: frame.body, requestID: 0, flags: .response); frame = try connection.readFrame() }
        XCTAssertEqual(frame.requestID, slow)
        XCTAssertNil(frame.errorBody)
    }
}
