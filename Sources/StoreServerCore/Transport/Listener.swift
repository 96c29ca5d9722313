// Accepts TCP connections with a dispatch read source on the listening socket and hands each new
// socket to the server. Knows nothing of the protocol.
import Dispatch
import Glibc

final class Listener: @unchecked Sendable {
    // Safe: `source` and `descriptor` are set once in start() before the source is activated,
    // and afterwards touched only on `queue`.
    private let queue = DispatchQueue(label: "store.listener")
    private var descriptor: Int32 = -1
    private var source: DispatchSourceRead?
    private let logger: Logger
    private let onAccept: @Sendable (Int32, SocketAddress) -> Void
    /// Connections accepted per wake-up before yielding, so a flood of connects cannot starve
    /// the listener queue's other work.
    private static let acceptsPerWakeUpMax = 64
    /// The kernel's queue of completed connections not yet accepted.
    private static let backlog: Int32 = 1024

    init(logger: Logger, onAccept: @escaping @Sendable (Int32, SocketAddress) -> Void) {
        self.logger = logger
        self.onAccept = onAccept
    }

    /// Binds and listens; returns the bound port (useful with port 0).
    func start(host: String, port: UInt16) throws -> UInt16 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw ServerStartError.cannotResolve(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        let socketDescriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard socketDescriptor >= 0 else { throw ServerStartError.socket(SocketSupport.lastError) }
        SocketSupport.setOption(socketDescriptor, level: SOL_SOCKET, name: SO_REUSEADDR)
        SocketSupport.setCloseOnExec(socketDescriptor)
        guard bind(socketDescriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = SocketSupport.lastError
            Glibc.close(socketDescriptor)
            throw ServerStartError.bind(host: host, port: port, reason: reason)
        }
        guard listen(socketDescriptor, Self.backlog) == 0, SocketSupport.setNonBlocking(socketDescriptor) else {
            let reason = SocketSupport.lastError
            Glibc.close(socketDescriptor)
            throw ServerStartError.socket(reason)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socketDescriptor, $0, &length) }
        }
        descriptor = socketDescriptor
        let source = DispatchSource.makeReadSource(fileDescriptor: socketDescriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.acceptPending() }
        source.setCancelHandler { Glibc.close(socketDescriptor) }
        self.source = source
        source.activate()
        return SocketAddress(storage: bound).port
    }

    /// Stops accepting; the listening socket is closed by the source's cancel handler.
    func stop() {
        queue.sync {
            source?.cancel()
            source = nil
        }
    }

    private func acceptPending() {
        for _ in 0..<Self.acceptsPerWakeUpMax {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(descriptor, $0, &length) }
            }
            if client < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                // EMFILE and friends: log and try again on the next wake-up rather than spin.
                logger.warning("accept failed", ["error": SocketSupport.lastError])
                return
            }
            guard SocketSupport.setNonBlocking(client) else {
                Glibc.close(client)
                continue
            }
            SocketSupport.setCloseOnExec(client)
            SocketSupport.setOption(client, level: Int32(IPPROTO_TCP), name: TCP_NODELAY)
            onAccept(client, SocketAddress(storage: address))
        }
    }
}

public enum ServerStartError: Error, CustomStringConvertible {
    case cannotResolve(host: String, reason: String)
    case socket(String)
    case bind(host: String, port: UInt16, reason: String)

    public var description: String {
        switch self {
        case let .cannotResolve(host, reason): "cannot resolve listen address \(host): \(reason)"
        case let .socket(reason): "cannot create the listening socket: \(reason)"
        case let .bind(host, port, reason): "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
