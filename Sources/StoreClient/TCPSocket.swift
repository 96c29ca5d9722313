// Linux only, like the server: the Glibc names are used directly.
import Glibc
import Synchronization

/// Thread safety: `read` is called only by the connection's reader thread and `write` only on
/// its write queue; `shutdown` may come from anywhere. The descriptor is closed once, by
/// `close()`, after the reader has exited and on the write queue, and the `descriptor` mutex makes
/// `shutdown` never touch a closed (possibly reused) descriptor.
final class TCPSocket: Sendable {
    private let descriptor: Mutex<Int32?>
    /// Read and written without the lock by the reader and writer: valid until `close()`, which
    /// runs only after both have stopped using it.
    private let rawDescriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
        rawDescriptor = descriptor
    }

    /// Connects with a deadline, then switches the socket to blocking mode with TCP_NODELAY
    /// (requests are small and latency-bound). Blocks the calling thread: call it off Swift's
    /// cooperative pool.
    static func connect(host: String, port: UInt16, timeout: Duration) throws(StoreClientError) -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connectFailed(reason: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no addresses for \(host)"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            do {
                return try connect(to: address.pointee, timeout: timeout)
            } catch {
                // Try the next address (IPv4 after IPv6, say); report the last failure.
                lastError = "\(host):\(port): \(error)"
            }
        }
        throw .connectFailed(reason: lastError)
    }

    private static func connect(to address: addrinfo, timeout: Duration) throws(StoreClientError) -> TCPSocket {
        let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard fd >= 0 else { throw .connectFailed(reason: "socket: \(errnoText())") }
        do throws(StoreClientError) {
            try connectNonBlocking(fd, address: address, timeout: timeout)
            var enabled: Int32 = 1
            guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw .connectFailed(reason: "setsockopt TCP_NODELAY: \(errnoText())")
            }
            return TCPSocket(descriptor: fd)
        } catch {
            _ = Glibc.close(fd)  // The error being thrown is the one that matters.
            throw error
        }
    }

    private static func connectNonBlocking(_ fd: Int32, address: addrinfo, timeout: Duration) throws(StoreClientError) {
        let blockingFlags = fcntl(fd, F_GETFL)
        guard blockingFlags >= 0, fcntl(fd, F_SETFL, blockingFlags | O_NONBLOCK) == 0 else {
            throw .connectFailed(reason: "fcntl: \(errnoText())")
        }
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw .connectFailed(reason: errnoText()) }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let milliseconds = Int32(clamping: Int64(timeout.headerMilliseconds))
            var ready: Int32
            repeat { ready = poll(&poller, 1, milliseconds) } while ready < 0 && errno == EINTR
            guard ready > 0 else {
                throw .connectFailed(reason: ready == 0 ? "TCP connect timed out after \(timeout)" : "poll: \(errnoText())")
            }
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0, socketError == 0 else {
                throw .connectFailed(reason: String(cString: strerror(socketError)))
            }
        }
        guard fcntl(fd, F_SETFL, blockingFlags) == 0 else {
            throw .connectFailed(reason: "fcntl: \(errnoText())")
        }
    }

    /// Blocking read. Returns 0 at end of stream; throws the errno text on failure.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(StoreClientError) -> Int {
        while true {
            let count = Glibc.read(rawDescriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw .connectionLost(reason: "read: \(Self.errnoText())")
        }
    }

    /// Blocking write of all the bytes. MSG_NOSIGNAL: a peer that closed gives EPIPE, not a
    /// process-killing SIGPIPE.
    func write(_ bytes: [UInt8]) throws(StoreClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                send(rawDescriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw .connectionLost(reason: "write: \(Self.errnoText())")
            }
            offset += sent
        }
    }

    /// Wakes a blocked reader and writer (they see end of stream or EPIPE). Idempotent.
    func shutdown() {
        descriptor.withLock { descriptor in
            guard let fd = descriptor else { return }
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))  // Fails only when already disconnected, which is the goal.
        }
    }

    /// Releases the descriptor. Call once both the reader and the writer are done with it.
    func close() {
        descriptor.withLock { descriptor in
            guard let fd = descriptor else { return }
            _ = Glibc.close(fd)  // Nothing useful can be done about a failed close of a socket.
            descriptor = nil
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
