// A deliberately simple blocking test client that speaks raw frames, so server tests can send
// exactly the bytes they want (including wrong ones) and see exactly what comes back.
import Foundation
import Glibc
import WireProtocol

final class RawConnection {
    let descriptor: Int32
    private var decoder = FrameDecoder(bodyBytesMax: 128 << 20, checksumsEnabled: true)
    private var nextID: UInt64 = 1

    init(port: UInt16, host: String = "127.0.0.1") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw RawConnectionError("connect failed: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setReceiveTimeout(.seconds(5))
    }

    deinit { Glibc.close(descriptor) }

    func setReceiveTimeout(_ duration: Duration) {
        var timeout = timeval(tv_sec: Int(duration.components.seconds),
                              tv_usec: Int(duration.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends the preface and returns the hello (or throws with the error frame).
    @discardableResult
    func handshake(features: PrefaceFeatures = [], minVersion: UInt16 = 1, maxVersion: UInt16 = 1) throws -> Hello {
        try write(Preface(minVersion: minVersion, maxVersion: maxVersion, features: features).encoded)
        let frame = try readFrame()
        guard !frame.flags.contains(.error) else { throw try ErrorBody.decode(body: frame.body) }
        return try Hello.decode(body: frame.body)
    }

    func takeRequestID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw RawConnectionError("send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Sends one request and returns its id.
    @discardableResult
    func send(_ opcode: Opcode, body: [UInt8] = [], requestID: UInt64? = nil, timeoutMilliseconds: UInt32 = 0,
              flags: FrameFlags = []) throws -> UInt64 {
        let id = requestID ?? takeRequestID()
        let frame = Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: flags, requestID: id,
                                              timeoutMilliseconds: timeoutMilliseconds), body: body)
        try write(frame.encoded())
        return id
    }

    func readFrame() throws -> Frame {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = try decoder.nextFrame() { return frame }
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count == 0 { throw RawConnectionError.closed }
            if count < 0 { throw RawConnectionError("read failed: \(String(cString: strerror(errno)))") }
            decoder.append(buffer[0..<count])
        }
    }

    /// Reads frames until the peer closes; returns them.
    func readUntilClosed() throws -> [Frame] {
        var frames: [Frame] = []
        while true {
            do {
                frames.append(try readFrame())
            } catch let error as RawConnectionError where error == .closed {
                return frames
            }
        }
    }

    func request(_ opcode: Opcode, body: [UInt8] = [], timeoutMilliseconds: UInt32 = 0) throws -> Frame {
        let id = try send(opcode, body: body, timeoutMilliseconds: timeoutMilliseconds)
        let frame = try readFrame()
        guard frame.requestID == id else { throw RawConnectionError("expected response to \(id), got \(frame.requestID)") }
        return frame
    }
}

struct RawConnectionError: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
    static let closed = RawConnectionError("connection closed by the server")
}

extension Frame {
    var errorBody: ErrorBody? {
        guard flags.contains(.error) else { return nil }
        return try? ErrorBody.decode(body: body)
    }
}
