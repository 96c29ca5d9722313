// 100,000 mutated frames through the protocol session with no socket in between: the session
// never traps, answers only with well-formed frames, and ends a connection only by closing it
// (every other session is unaffected, since each has its own state).
import XCTest
import Dispatch
import WireProtocol
@testable import StoreServerCore

/// Collects what a session sends; stands in for the socket.
final class RecordingOutput: ConnectionOutput, @unchecked Sendable {
    // Safe: used only on `queue` by the session, and read by the test after draining the queue.
    let queue: DispatchQueue
    var sent: [UInt8] = []
    var closeRequested = false

    init(queue: DispatchQueue) { self.queue = queue }
    func send(_ bytes: [UInt8]) { sent += bytes }
    func closeAfterFlush() { closeRequested = true }
}

final class SessionFuzzTests: XCTestCase {
    func testHundredThousandMutatedFramesThroughTheSession() throws {
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("SessionFuzzTests seed=\(seed) (set FUZZ_SEED to reproduce)")
        var random = FuzzGenerator(seed: seed)
        var configuration = ServerConfiguration()
        configuration.limits.frameBodyBytesMax = 64 << 10
        configuration.limits.messageBytesMax = 256 << 10
        var router = OperationRouter()
        router.register(TestOpcode.echo, .immediate { $0.body })
        let context = ProtocolSession.Context(configuration: configuration, router: router,
                                              authenticator: Authenticator(tokens: []), statistics: ServerStatistics(),
                                              metrics: OperationMetrics(),
                                              logger: Logger(subsystem: "fuzz", minimumLevel: .error, sink: CollectingSink()))
        let templates: [[UInt8]] = [
            Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: 1), body: PingMessage(payload: 7).encodedBody).encoded(),
            Frame(header: FrameHeader(bodyLength: 3, opcode: TestOpcode.echo, flags: [], requestID: 2), body: [1, 2, 3]).encoded(),
            Frame(header: FrameHeader(bodyLength: 4, opcode: TestOpcode.echo, flags: .moreChunks, requestID: 3), body: [9, 9, 9, 9]).encoded(),
            Frame(header: FrameHeader(bodyLength: 0, opcode: .cancel, flags: [], requestID: 2), body: []).encoded(),
            Frame(header: FrameHeader(bodyLength: 0, opcode: .goodbye, flags: [], requestID: 4), body: []).encoded(),
        ]
        let queue = DispatchQueue(label: "fuzz-session")
        let framesPerSession = 25
        let sessions = 100_000 / framesPerSession
        var closedSessions = 0
        var framesAnswered = 0
        for sessionIndex in 0..<sessions {
            let output = RecordingOutput(queue: queue)
            let session = ProtocolSession(connectionID: UInt64(sessionIndex), output: output,
                                          peer: SocketAddress(host: "127.0.0.1", port: 1, isLoopback: true), context: context)
            var stream = Preface().encoded
            for _ in 0..<framesPerSession {
                var frame = templates[Int(random.next() % UInt64(templates.count))]
                for _ in 0..<Int(random.next() % 3) {
                    frame[Int(random.next() % UInt64(frame.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                stream += frame
            }
            queue.sync {
                // Deliver in random pieces, as the socket would.
                var offset = 0
                while offset < stream.count {
                    let size = 1 + Int(random.next() % 64)
                    let end = min(stream.count, offset + size)
                    stream[offset..<end].withUnsafeBytes { session.connectionReceived($0) }
                    offset = end
                }
                session.connectionClosed()
            }
            // Everything the session sent decodes as frames: first the hello, then responses.
            var decoder = FrameDecoder(bodyBytesMax: 1 << 20)
            decoder.append(output.sent)
            var frames = 0
            while let frame = try decoder.nextFrame() {
                XCTAssertTrue(frame.flags.contains(.response) || frame.opcode == .goAway || frame.opcode == .ping)
                frames += 1
            }
            XCTAssertEqual(decoder.bufferedByteCount, 0, "a partial frame was sent")
            XCTAssertGreaterThanOrEqual(frames, 1, "the hello is always sent")
            framesAnswered += frames - 1
            if output.closeRequested { closedSessions += 1 }
        }
        XCTAssertGreaterThan(closedSessions, sessions / 4)
        XCTAssertGreaterThan(framesAnswered, sessions)
        XCTAssertEqual(context.statistics.inFlightCount, 0)
    }
}
