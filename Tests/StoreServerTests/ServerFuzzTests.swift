// Random garbage and mutated frames sent to a live server: every bad connection is closed
// with at most an error frame, and a well-behaved connection alongside keeps working.
import XCTest
import StoreServerCore
import WireProtocol

final class ServerFuzzTests: XCTestCase {
    func testMutatedFramesCloseOnlyTheOffendingConnection() throws {
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("ServerFuzzTests seed=\(seed) (set FUZZ_SEED to reproduce)")
        var random = FuzzGenerator(seed: seed)
        let server = try makeTestServer { $0.frameCompletionTimeout = .milliseconds(200) }
        let bystander = try RawConnection(port: server.port)
        try bystander.handshake()
        let templates: [[UInt8]] = [
            Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: 1), body: PingMessage(payload: 7).encodedBody).encoded(),
            Frame(header: FrameHeader(bodyLength: 0, opcode: .health, flags: [], requestID: 2), body: []).encoded(),
            Frame(header: FrameHeader(bodyLength: 12, opcode: TestOpcode.echo, flags: [], requestID: 3), body: slowEchoBody(milliseconds: 0)).encoded(),
            Frame(header: FrameHeader(bodyLength: 0, opcode: .cancel, flags: [], requestID: 2), body: []).encoded(),
        ]
        var framesSent = 0
        var connectionsClosed = 0
        let connectionCount = 200
        for round in 0..<connectionCount {
            let connection = try RawConnection(port: server.port)
            connection.setReceiveTimeout(.seconds(3))
            var stream = Preface().encoded
            if round % 10 == 0 { stream = stream.map { random.next() % 8 == 0 ? UInt8(truncatingIfNeeded: random.next()) : $0 } }
            for _ in 0..<25 {
                var frame = templates[Int(random.next() % UInt64(templates.count))]
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let position = Int(random.next() % UInt64(frame.count))
                    frame[position] = UInt8(truncatingIfNeeded: random.next())
                }
                stream += frame
                framesSent += 1
            }
            try? connection.write(stream) // The server may close mid-write; that is an expected outcome.
            // Every frame the server sends back must be a well-formed frame; then it closes
            // (bad input) or we time out waiting (valid input kept it open): both are fine.
            do {
                while true {
                    let frame = try connection.readFrame()
                    XCTAssertTrue(frame.flags.contains(.response) || frame.opcode == .goAway || frame.opcode == .ping)
                }
            } catch let error as RawConnectionError where error == .closed {
                connectionsClosed += 1
            } catch {
                // Receive timeout: the server kept this connection open.
            }
            if round % 20 == 0 {
                XCTAssertNil(try bystander.request(.ping, body: PingMessage(payload: UInt64(round)).encodedBody).errorBody)
            }
        }
        XCTAssertGreaterThanOrEqual(framesSent, 5000)
        XCTAssertGreaterThan(connectionsClosed, connectionCount / 2)
        XCTAssertNil(try bystander.request(.ping, body: PingMessage(payload: 1).encodedBody).errorBody)
        let health = try HealthResponse.decode(body: try bystander.request(.health).body)
        XCTAssertEqual(health.status, .up)
    }
}

struct FuzzGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
