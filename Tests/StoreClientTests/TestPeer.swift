import Foundation
import Glibc
import Synchronization
import WireProtocol

/// A loopback stand-in for the server that speaks the protocol with WireProtocol types, so the
/// client's multiplexing, timeouts, chunking and reconnects can be tested before the real
/// server exists. Each test gives it a handler that decides how (and whether) to answer.
/// It answers the preface with a HELLO built from its options; PING, HEALTH and GOODBYE get
/// default answers unless the handler claims them by returning true.
final class TestPeer: Sendable {
    struct Options: Sendable {
        var limits = ProtocolLimits()
        var authenticationRequired = false
        var agreesToChecksums = true
        /// Answer every preface with unsupported_version, as a server of another version would.
        var rejectsEveryVersion = false
    }

    /// Returns true when it handled the message; false lets the defaults answer.
    typealias Handler = @Sendable (PeerConnection, Message) -> Bool

    let port: UInt16
    let options: Options
    private let listener: Int32
    private let handler: Handler
    private let connections = Mutex<[PeerConnection]>([])

    init(options: Options = Options(), handler: @escaping Handler = { _, _ in false }) throws {
        self.options = options
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw PeerError("socket failed") }
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw PeerError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var acceptedCount: Int { connections.withLock { $0.count } }

    func connection(_ index: Int) -> PeerConnection? {
        connections.withLock { $0.indices.contains(index - 1) ? $0[index - 1] : nil }
    }

    func stop() {
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        for connection in connections.withLock({ $0 }) { connection.close() }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            let connection = connections.withLock { list in
                let connection = PeerConnection(fd: fd, index: list.count + 1, options: options)
                list.append(connection)
                return connection
            }
            let thread = Thread { [self] in connection.run(handler: handler) }
            thread.start()
        }
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One accepted connection of the test peer. Thread safety: `state` guards the frame log and
/// the negotiated settings; `writeLock` serialises writes so frames never interleave.
final class PeerConnection: Sendable {
    let index: Int
    let options: TestPeer.Options
    private let fd: Int32
    private let writeLock = Mutex(())
    private let state = Mutex(PeerState())

    struct PeerState {
        var checksums = false
        var frames: [Frame] = []
        var lastRequestID: UInt64 = 0
        var idOrderViolations = 0
        var closed = false
    }

    init(fd: Int32, index: Int, options: TestPeer.Options) {
        self.fd = fd
        self.index = index
        self.options = options
    }

    /// Every frame received after the preface, in arrival order.
    var frames: [Frame] { state.withLock { $0.frames } }
    var idOrderViolations: Int { state.withLock { $0.idOrderViolations } }

    /// Polls the frame log until a frame matches or the timeout passes.
    func waitForFrame(timeout: Duration = .seconds(5), where predicate: (Frame) -> Bool) -> Frame? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let frame = frames.first(where: predicate) { return frame }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    func send(_ frames: [Frame]) {
        let checksums = state.withLock { $0.checksums }
        var writer = ByteWriter()
        for frame in frames { frame.append(to: &writer, withChecksum: checksums) }
        writeLock.withLock { _ in
            let bytes = writer.bytes
            var offset = 0
            while offset < bytes.count {
                let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    func respond(to request: Message, body: [UInt8], flags: FrameFlags = .response) {
        send(MessageFramer.frames(opcode: request.opcode, flags: flags, requestID: request.requestID, body: body,
                                  bodyBytesMax: options.limits.frameBodyBytesMax))
    }

    func respond(to request: Message, error: ErrorBody) {
        respond(to: request, body: error.encodedBody, flags: [.response, .error])
    }

    func sendServerFrame(opcode: Opcode, body: [UInt8]) {
        send([Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: [], requestID: 0), body: body)])
    }

    func close() {
        let wasOpen = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        if wasOpen { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func run(handler: TestPeer.Handler) {
        defer { Glibc.close(fd) }
        var decoder = FrameDecoder(bodyBytesMax: options.limits.frameBodyBytesMax)
        var assembler = MessageAssembler(bufferedBytesMax: options.limits.messageBytesMax)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var prefaceDone = false
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            decoder.append(buffer[0..<count])
            if !prefaceDone {
                guard let bytes = decoder.takePrefix(count: Preface.byteCount) else { continue }
                guard let preface = try? Preface.decode(bytes) else { return }  // A bad preface ends the test connection.
                prefaceDone = true
                sendHello(preface: preface, decoder: &decoder)
            }
            do {
                while let frame = try decoder.nextFrame() {
                    record(frame)
                    guard frame.opcode != .cancel, frame.requestID != 0 else { continue }
                    guard let message = try assembler.add(frame) else { continue }
                    if !handler(self, message) { answerByDefault(message) }
                }
            } catch {
                close()  // The client broke the protocol: the test that caused it sees the close.
                return
            }
        }
    }

    private func sendHello(preface: Preface, decoder: inout FrameDecoder) {
        if options.rejectsEveryVersion {
            let error = ErrorBody(code: .unsupportedVersion, message: "no common protocol version",
                                  details: ["max_version": .int(9), "min_version": .int(7)])
            send([Frame(header: FrameHeader(bodyLength: 0, opcode: .hello, flags: [.response, .error], requestID: 0),
                        body: error.encodedBody)])
            close()
            return
        }
        let checksums = preface.features.contains(.checksums) && options.agreesToChecksums
        let hello = Hello(version: 1, limits: options.limits, serverID: "test-peer", serverVersion: "0.0.0",
                          authenticationRequired: options.authenticationRequired, checksums: checksums)
        send([Frame(header: FrameHeader(bodyLength: 0, opcode: .hello, flags: .response, requestID: 0), body: hello.encodedBody)])
        decoder.checksumsEnabled = checksums
        state.withLock { $0.checksums = checksums }
    }

    private func record(_ frame: Frame) {
        state.withLock { state in
            state.frames.append(frame)
            if frame.opcode != .cancel && frame.requestID != 0 && !frame.flags.contains(.moreChunks) {
                if frame.requestID <= state.lastRequestID { state.idOrderViolations += 1 }
                state.lastRequestID = frame.requestID
            }
        }
    }

    private func answerByDefault(_ message: Message) {
        switch message.opcode {
        case .ping:
            respond(to: message, body: message.body)
        case .health:
            respond(to: message, body: HealthResponse(status: .up, serverVersion: "0.0.0", protocolVersion: 1,
                                                      uptimeMilliseconds: 5, connectionCount: 1, inFlightCount: 0,
                                                      backends: [BackendHealth(name: "postgres", state: .up)]).encodedBody)
        case .goodbye:
            respond(to: message, body: [])
            close()
        case .auth:
            respond(to: message, body: AuthResponse(principal: "agent").encodedBody)
        default:
            respond(to: message, error: ErrorBody(code: .unknownOpcode, message: "unknown opcode \(message.opcode)"))
        }
    }
}
