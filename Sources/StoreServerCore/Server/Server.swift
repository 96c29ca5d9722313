// The server: a listener, a fixed set of serial I/O queues, and one ProtocolSession per
// connection. It owns connection accounting and graceful drain; what each operation does comes
// from the router it is given.
import Dispatch
import Glibc
import Synchronization
import WireProtocol

/// Something health reports on: a backend, or the cache.
public protocol HealthSource: Sendable {
    func currentHealth() async -> BackendHealth
}

public final class Server: Sendable {
    public let configuration: ServerConfiguration
    public let statistics = ServerStatistics()
    public let metrics = OperationMetrics()
    private let logger: Logger
    private let router: OperationRouter
    private let healthSources: [any HealthSource]
    private let ioQueues: [DispatchQueue]
    private let state = Mutex(State())
    private let listener: Listener

    private struct State: ~Copyable {
        var nextConnectionID: UInt64 = 1
        var sessions: [UInt64: (connection: SocketConnection, session: ProtocolSession)] = [:]
        var draining = false
        var boundPort: UInt16 = 0
    }

    public init(configuration: ServerConfiguration, router: OperationRouter, healthSources: [any HealthSource] = [],
                logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.healthSources = healthSources
        ioQueues = (0..<max(1, configuration.ioQueueCount)).map { DispatchQueue(label: "store.io.\($0)") }
        var router = router
        let statistics = statistics
        let sources = healthSources
        router.register(.health, .deferred { _, _ in
            await Self.health(statistics: statistics, sources: sources).encodedBody
        })
        self.router = router
        let box = WeakServerBox()
        listener = Listener(logger: logger.labeled("listener")) { descriptor, peer in
            box.server?.accepted(descriptor: descriptor, peer: peer)
        }
        box.server = self
    }

    /// Starts listening; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        let port = try listener.start(host: configuration.host, port: configuration.port)
        state.withLock { $0.boundPort = port }
        logger.notice("listening", ["host": configuration.host, "port": port, "io_queues": ioQueues.count,
                                    "auth": configuration.authTokens.isEmpty ? "loopback-only" : "token"])
        return port
    }

    public var port: UInt16 { state.withLock { $0.boundPort } }

    /// Stops accepting, sends go-away on every connection, waits for in-flight requests (up to
    /// the drain timeout), then closes whatever is left.
    public func shutdown() async {
        let sessions = state.withLock { state in
            state.draining = true
            return Array(state.sessions.values)
        }
        listener.stop()
        logger.notice("draining", ["connections": sessions.count, "in_flight": statistics.inFlightCount])
        for entry in sessions {
            entry.connection.queue.async { entry.session.beginDrain(reason: "server shutting down") }
        }
        let deadline = MonotonicClock.nanoseconds() + UInt64(configuration.drainTimeout.components.seconds) * 1_000_000_000
            + UInt64(configuration.drainTimeout.components.attoseconds / 1_000_000_000)
        while statistics.connectionCount > 0 && MonotonicClock.nanoseconds() < deadline {
            try? await Task.sleep(for: .milliseconds(10)) // Sleep is cancelled only if shutdown's task is; the loop ends anyway.
        }
        let leftovers = state.withLock { Array($0.sessions.values) }
        if !leftovers.isEmpty {
            logger.warning("closing connections that did not drain in time", ["connections": leftovers.count])
            for entry in leftovers { entry.connection.queue.sync { entry.connection.closeNow() } }
        }
        logger.notice("stopped", ["requests_served": statistics.requestCount])
    }

    /// The same report the HEALTH operation returns.
    public func health() async -> HealthResponse {
        await Self.health(statistics: statistics, sources: healthSources)
    }

    static func health(statistics: ServerStatistics, sources: [any HealthSource]) async -> HealthResponse {
        var backends: [BackendHealth] = []
        for source in sources { backends.append(await source.currentHealth()) }
        let states = backends.map(\.state)
        let status: BackendState = states.contains(.down) ? .down : states.contains(.degraded) ? .degraded : .up
        return HealthResponse(status: status, serverVersion: ServerVersion.current, protocolVersion: ProtocolVersion.current,
                              uptimeMilliseconds: statistics.uptimeMilliseconds,
                              connectionCount: UInt32(clamping: statistics.connectionCount),
                              inFlightCount: UInt32(clamping: statistics.inFlightCount), backends: backends)
    }

    private func accepted(descriptor: Int32, peer: SocketAddress) {
        let admission: (id: UInt64, queue: DispatchQueue)? = state.withLock { state in
            guard !state.draining, state.sessions.count < configuration.connectionsMax else { return nil }
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            return (id, ioQueues[Int(id % UInt64(ioQueues.count))])
        }
        guard let admission else {
            refuse(descriptor: descriptor, peer: peer)
            return
        }
        let connection = SocketConnection(id: admission.id, descriptor: descriptor, peer: peer, queue: admission.queue,
                                          configuration: configuration, logger: logger.labeled("connection"))
        let context = ProtocolSession.Context(configuration: configuration, router: router,
                                              authenticator: Authenticator(tokens: configuration.authTokens),
                                              statistics: statistics, metrics: metrics, logger: logger.labeled("session"))
        let session = ProtocolSession(connectionID: admission.id, output: connection, peer: peer, context: context)
        let tracker = ClosingTracker(server: self, id: admission.id, session: session)
        statistics.connectionOpened()
        state.withLock { $0.sessions[admission.id] = (connection, session) }
        logger.debug("connection opened", ["connection": admission.id, "peer": peer])
        admission.queue.async { connection.start(events: tracker) }
    }

    fileprivate func removeSession(id: UInt64) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// Over the connection limit (or draining): one overloaded error frame, then close.
    private func refuse(descriptor: Int32, peer: SocketAddress) {
        logger.warning("refusing connection", ["peer": peer, "connections": statistics.connectionCount])
        let body = ErrorBody(code: .overloaded, flags: [.retryable, .connectionFatal], message: "too many connections",
                             details: ["limit": .int(Int64(configuration.connectionsMax)), "retry_after_ms": .int(1000)])
        let frame = Frame(header: FrameHeader(bodyLength: 0, opcode: Opcode(rawValue: 0), flags: [.response, .error], requestID: 0),
                          body: body.encodedBody).encoded()
        frame.withUnsafeBytes { raw in
            // Best effort on a fresh socket whose buffer is empty; the close follows regardless.
            _ = Glibc.send(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
        }
        Glibc.close(descriptor)
    }
}

/// Forwards transport events to the session and removes it from the server when it closes.
private final class ClosingTracker: ConnectionEvents, @unchecked Sendable {
    // Safe: called only on the connection's queue, like the session it wraps.
    weak var server: Server?
    let id: UInt64
    let session: ProtocolSession

    init(server: Server, id: UInt64, session: ProtocolSession) {
        self.server = server
        self.id = id
        self.session = session
    }

    func connectionReceived(_ bytes: UnsafeRawBufferPointer) { session.connectionReceived(bytes) }
    func connectionTick(now: UInt64) { session.connectionTick(now: now) }
    func connectionClosed() {
        session.connectionClosed()
        server?.removeSession(id: id)
    }
}

/// Lets the listener's accept callback reach the server without a retain cycle.
private final class WeakServerBox: @unchecked Sendable {
    // Safe: written once during Server.init before the listener starts, read-only afterwards.
    weak var server: Server?
}
