// Thin wrappers over the POSIX socket calls the transport needs. Glibc does not expose accept4,
// so sockets are made non-blocking with fcntl after accept.
import Glibc

enum SocketSupport {
    static func setNonBlocking(_ descriptor: Int32) -> Bool {
        let flags = fcntl(descriptor, F_GETFL, 0)
        return flags >= 0 && fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0
    }

    static func setCloseOnExec(_ descriptor: Int32) {
        let flags = fcntl(descriptor, F_GETFD, 0)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
    }

    static func setOption(_ descriptor: Int32, level: Int32, name: Int32, value: Int32 = 1) {
        var value = value
        // Failing to set an optional tuning option (e.g. TCP_NODELAY) only costs latency.
        _ = setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    static var lastError: String { String(cString: strerror(errno)) }
}

/// The peer or local address of a socket, kept as text and whether it is a loopback address.
public struct SocketAddress: Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    public let isLoopback: Bool

    /// For tests of the protocol layer without sockets.
    init(host: String, port: UInt16, isLoopback: Bool) {
        self.host = host
        self.port = port
        self.isLoopback = isLoopback
    }

    init(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var raw = address.sin_addr
            inet_ntop(AF_INET, &raw, &text, socklen_t(INET_ADDRSTRLEN))
            host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            port = UInt16(bigEndian: address.sin_port)
            // 127.0.0.0/8
            isLoopback = (UInt32(bigEndian: address.sin_addr.s_addr) >> 24) == 127
        case AF_INET6:
            let address = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var raw = address.sin6_addr
            inet_ntop(AF_INET6, &raw, &text, socklen_t(INET6_ADDRSTRLEN))
            host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            port = UInt16(bigEndian: address.sin6_port)
            isLoopback = host == "::1" || host.hasPrefix("::ffff:127.")
        default:
            host = "unknown"
            port = 0
            isLoopback = false
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
