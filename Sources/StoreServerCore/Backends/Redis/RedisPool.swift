// A small pool of Redis connections. Connections are opened lazily, a broken one is discarded
// and replaced on the next use, and when Redis is down calls fail fast with `.unavailable`.
import Foundation
import Synchronization

public final class RedisPool: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// Connections kept at most. Each blocks one Dispatch thread while a command runs.
        public var size: Int
        /// Bounds how long a call waits when Redis does not even accept connections (a dropped
        /// SYN), so an outage costs at most this much.
        public var connectTimeout: Duration
        /// Bounds how long one command waits for its reply before the connection is discarded.
        public var commandTimeout: Duration
        /// How long a caller waits for a busy pool before `.poolExhausted`.
        public var acquireTimeout: Duration
        /// After a failed connect, further connects within this window fail at once instead of
        /// each waiting up to `connectTimeout` again.
        public var failFastWindow: Duration

        public init(endpoint: RedisEndpoint, size: Int = 4, connectTimeout: Duration = .seconds(1),
                    commandTimeout: Duration = .seconds(2), acquireTimeout: Duration = .seconds(2),
                    failFastWindow: Duration = .milliseconds(50)) {
            precondition(size >= 1, "a pool needs at least one connection")
            self.endpoint = endpoint
            self.size = size
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.acquireTimeout = acquireTimeout
            self.failFastWindow = failFastWindow
        }
    }

    /// What a waiting caller is handed: an idle connection, or the right to open one.
    private enum Grant: Sendable {
        case connection(RedisConnection)
        case openSlot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [RedisConnection] = []
        /// Connections that exist (idle or lent) plus slots being opened.
        var openCount = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var lastConnectFailure: (at: ContinuousClock.Instant, error: BackendError)?
        var isShutDown = false
    }

    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let autoPipeline: RedisAutoPipeline

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger.labeled("redis-pool")
        autoPipeline = RedisAutoPipeline(flushersMax: configuration.size, queueWaitMax: configuration.acquireTimeout)
    }

    /// Runs `body` with a connection lent for its duration. A connection that broke during
    /// `body` is closed rather than returned to the pool.
    /// - Throws: `.unavailable` when Redis cannot be reached, `.poolExhausted` when no
    ///   connection frees up within `acquireTimeout`, or whatever `body` throws.
    public func withConnection<T: Sendable>(
        _ body: (RedisConnection) async throws(BackendError) -> T
    ) async throws(BackendError) -> T {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// One command on a pooled connection; commands issued concurrently share round trips
    /// (see RedisAutoPipeline).
    public func execute(_ arguments: [[UInt8]]) async throws(BackendError) -> RedisReply {
        try await autoPipeline.execute(arguments, using: self, shutDownError: Self.shutDownError)
    }

    public func execute(_ arguments: [String]) async throws(BackendError) -> RedisReply {
        try await execute(arguments.map { Array($0.utf8) })
    }

    /// Several commands in one round trip on one pooled connection.
    public func pipeline(_ commands: [[[UInt8]]]) async throws(BackendError) -> [RedisReply] {
        try await withConnection { connection throws(BackendError) in try await connection.pipeline(commands) }
    }

    /// Closes idle connections and refuses further use. Lent connections close when returned.
    public func shutdown() {
        autoPipeline.shutdown(error: Self.shutDownError)
        let (idle, waiters) = state.withLock { state in
            state.isShutDown = true
            defer { state.idle = []; state.waiters = [] }
            state.openCount -= state.idle.count
            return (state.idle, state.waiters)
        }
        idle.forEach { $0.close() }
        for waiter in waiters {
            waiter.continuation.resume(throwing: Self.shutDownError)
        }
    }

    private static let shutDownError = BackendError.unavailable(backend: "redis", reason: "pool shut down",
                                                                outcomeUnknown: false)

    private enum Decision {
        case use(RedisConnection)
        case open
        case wait
        case fail(BackendError)
    }

    private func acquire() async throws(BackendError) -> RedisConnection {
        let failFastWindow = configuration.failFastWindow
        let decision: Decision = state.withLock { state in
            if state.isShutDown { return .fail(Self.shutDownError) }
            if let connection = state.idle.popLast() { return .use(connection) }
            guard state.openCount < configuration.size else { return .wait }
            if let failure = state.lastConnectFailure,
               ContinuousClock.now - failure.at < failFastWindow {
                return .fail(failure.error)
            }
            state.openCount += 1
            return .open
        }
        switch decision {
        case .use(let connection): return connection
        case .fail(let error): throw error
        case .open: return try await openConnection()
        case .wait:
            switch try await waitForGrant() {
            case .connection(let connection): return connection
            case .openSlot: return try await openConnection()
            }
        }
    }

    /// Opens a connection into a slot already counted in `openCount`; gives the slot back on
    /// failure.
    private func openConnection() async throws(BackendError) -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(
                to: configuration.endpoint, connectTimeout: configuration.connectTimeout,
                commandTimeout: configuration.commandTimeout)
            state.withLock { $0.lastConnectFailure = nil }
            return connection
        } catch {
            let hadFailure = state.withLock { state in
                defer { state.lastConnectFailure = (ContinuousClock.now, error) }
                return state.lastConnectFailure != nil
            }
            if !hadFailure {
                logger.warning("cannot connect to redis", ["endpoint": configuration.endpoint, "error": error])
            }
            releaseSlot()
            throw error
        }
    }

    private func waitForGrant() async throws(BackendError) -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let timeout = configuration.acquireTimeout
        let backend = "redis"
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let registered = state.withLock { state in
                    if state.isShutDown { return false }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                guard registered else {
                    continuation.resume(throwing: Self.shutDownError)
                    return
                }
                // The waiter gives up after `acquireTimeout`; a grant that came first wins
                // because whoever removes the waiter from the list resumes it.
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)  // only cancellation throws, and nobody holds this task
                    self?.expireWaiter(id: id, error: .poolExhausted(backend: backend))
                }
            }
        } catch let error as BackendError {
            throw error
        } catch {
            throw .unavailable(backend: backend, reason: "\(error)", outcomeUnknown: false)
        }
    }

    private func expireWaiter(id: UInt64, error: BackendError) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    private func release(_ connection: RedisConnection) {
        if connection.isBroken {
            // The server probably went away: the idle connections most likely broke too, and
            // finding out one request at a time would fail each of those requests.
            let idle = state.withLock { state in
                defer { state.idle = [] }
                state.openCount -= state.idle.count
                return state.idle
            }
            connection.close()
            idle.forEach { $0.close() }
            releaseSlot()
            return
        }
        enum Outcome { case pooled, handedOver(Waiter), closing }
        let outcome: Outcome = state.withLock { state in
            if state.isShutDown {
                state.openCount -= 1
                return .closing
            }
            if state.waiters.isEmpty {
                state.idle.append(connection)
                return .pooled
            }
            return .handedOver(state.waiters.removeFirst())
        }
        switch outcome {
        case .pooled: break
        case .handedOver(let waiter): waiter.continuation.resume(returning: .connection(connection))
        case .closing: connection.close()
        }
    }

    /// Frees one counted slot, handing it to the first waiter if there is one.
    private func releaseSlot() {
        let waiter: Waiter? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.openCount -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .openSlot)
    }
}
