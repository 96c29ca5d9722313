// A bounded pool of PostgresConnections: keeps a few open, opens overflow connections under load,
// checks connections that sat idle before reuse, replaces broken and old ones, and fails fast
// while PostgreSQL is down, reconnecting by itself once it is back.
import Foundation
import Synchronization

public final class PostgresPool: Sendable {
    private struct IdleConnection: Sendable {
        let connection: PostgresConnection
        let idleSince: ContinuousClock.Instant
    }

    /// What a caller gets: a connection to check before use, or a reserved slot to open one in.
    private enum Lease: Sendable {
        case reuse(IdleConnection)
        case open
    }

    private enum Decision {
        case lease(Lease)
        case fail(BackendError)
        case wait
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
        let timeout: Task<Void, Never>
    }

    private struct State {
        /// Most recently returned last, so busy periods reuse warm connections and the ones at
        /// the front grow idle and get closed.
        var idle: [IdleConnection] = []
        /// Open, being opened, idle or in use.
        var openCount = 0
        var inUseCount = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isShutdown = false
        var lastConnectFailure: (at: ContinuousClock.Instant, error: BackendError)? = nil
        var isHealthy = true
        var maintenance: Task<Void, Never>? = nil
    }

    public let configuration: PostgresPoolConfiguration
    public let settings: PostgresConnectionSettings
    private let logger: Logger
    private let state = Mutex(State())

    public init(settings: PostgresConnectionSettings, configuration: PostgresPoolConfiguration = .init(), logger: Logger) {
        precondition(configuration.connectionsKept >= 0 && configuration.overflowConnectionsMax >= 0
                     && configuration.connectionsMax > 0, "pool needs at least one connection")
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        let interval = configuration.maintenanceInterval
        let maintenance = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return // Cancelled by shutdown.
                }
                guard let self else { return }
                await self.closeExpiredIdleConnections()
            }
        }
        state.withLock { $0.maintenance = maintenance }
    }

    deinit {
        state.withLock { $0.maintenance?.cancel() }
    }

    // MARK: - Public API

    /// Lends a connection to `body` and takes it back afterwards, also when `body` throws.
    /// Throws `.poolExhausted` after waiting `acquireTimeout`, `.unavailable` when PostgreSQL
    /// cannot be reached, `CancellationError` when the task is cancelled while waiting.
    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        let value: T
        do {
            value = try await body(connection)
        } catch {
            await release(connection)
            throw error
        }
        await release(connection)
        return value
    }

    public func query(_ sql: String, _ parameters: [PostgresValue] = [],
                      resultFormat: PostgresFormat = .text) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, parameters, resultFormat: resultFormat) }
    }

    public func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue] = [],
                        resultFormat: PostgresFormat = .text) async throws -> PostgresRows {
        try await withConnection { try await $0.execute(statement, parameters, resultFormat: resultFormat) }
    }

    /// Runs `body` in a transaction on one connection; see `PostgresConnection.transaction`.
    public func transaction<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { try await $0.transaction(body) }
    }

    /// The last known state: false after a failed connect or a connection that broke, true again
    /// after a successful connect or statement. No I/O.
    public var isHealthy: Bool { state.withLock { $0.isHealthy } }

    /// Runs `SELECT 1` on a pooled connection; for the health operation. Never throws.
    public func checkHealth() async -> Bool {
        do {
            _ = try await query("SELECT 1")
            return true
        } catch {
            logger.debug("health check failed", ["error": error])
            return false
        }
    }

    public var statistics: PostgresPoolStatistics {
        state.withLock {
            PostgresPoolStatistics(open: $0.openCount, idle: $0.idle.count, inUse: $0.inUseCount, waiters: $0.waiters.count)
        }
    }

    /// Fails all waiters, closes idle connections and closes in-use ones as they come back.
    public func shutdown() async {
        let (idle, waiters, maintenance) = state.withLock { state in
            state.isShutdown = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            state.openCount -= state.idle.count
            return (state.idle, state.waiters, state.maintenance)
        }
        maintenance?.cancel()
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: Self.shutDownError)
        }
        for entry in idle { await entry.connection.close() }
    }

    // MARK: - Acquire and release

    private static let shutDownError = BackendError.unavailable(backend: PostgresErrorClassification.backendName,
                                                                reason: "connection pool is shut down", outcomeUnknown: false)

    private func acquire() async throws -> PostgresConnection {
        let decision = state.withLock { decide(&$0) }
        switch decision {
        case .lease(let lease): return try await use(lease)
        case .fail(let error): throw error
        case .wait: return try await use(waitForLease())
        }
    }

    /// Takes an idle connection or reserves a slot to open one; both count as in use.
    private func decide(_ state: inout State) -> Decision {
        if state.isShutdown { return .fail(Self.shutDownError) }
        if let entry = state.idle.popLast() {
            state.inUseCount += 1
            return .lease(.reuse(entry))
        }
        if let failure = state.lastConnectFailure,
           ContinuousClock.now - failure.at < configuration.failFastAfterConnectFailure {
            return .fail(failure.error)
        }
        if state.openCount < configuration.connectionsMax {
            state.openCount += 1
            state.inUseCount += 1
            return .lease(.open)
        }
        return .wait
    }

    private func waitForLease() async throws -> Lease {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: Decision? = state.withLock { state in
                    // Something may have been released since the first look.
                    let decision = decide(&state)
                    guard case .wait = decision else { return decision }
                    if Task.isCancelled { return .fail(BackendError.poolExhausted(backend: PostgresErrorClassification.backendName)) }
                    let timeoutDuration = configuration.acquireTimeout
                    let timeout = Task { [weak self] in
                        do {
                            try await Task.sleep(for: timeoutDuration)
                        } catch {
                            return // Cancelled because the waiter was served.
                        }
                        self?.removeWaiter(id: id, error: BackendError.poolExhausted(backend: PostgresErrorClassification.backendName))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeout: timeout))
                    return nil
                }
                switch immediate {
                case .lease(let lease): continuation.resume(returning: lease)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait, nil: break
                }
            }
        } onCancel: {
            removeWaiter(id: id, error: CancellationError())
        }
    }

    private func removeWaiter(id: UInt64, error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeout.cancel()
        if case BackendError.poolExhausted = error {
            logger.warning("no connection became free in time", ["timeout": configuration.acquireTimeout])
        }
        waiter.continuation.resume(throwing: error)
    }

    /// Turns a lease into a usable connection: recycles old ones, checks ones idle a while, and
    /// opens a replacement in the same slot when the check fails.
    private func use(_ lease: Lease) async throws -> PostgresConnection {
        guard case .reuse(let entry) = lease else { return try await openInReservedSlot() }
        let connection = entry.connection
        let now = ContinuousClock.now
        if connection.isBroken || now - connection.openedAt > configuration.connectionLifetimeMax {
            await connection.close()
            return try await openInReservedSlot()
        }
        if now - entry.idleSince > configuration.healthCheckAfterIdle {
            do {
                _ = try await connection.query("SELECT 1")
            } catch {
                logger.info("idle connection failed its check; replacing it", ["connection": connection.id, "error": error])
                await connection.close()
                return try await openInReservedSlot()
            }
        }
        return connection
    }

    private func openInReservedSlot() async throws -> PostgresConnection {
        do {
            let connection = try await PostgresConnection.connect(settings: settings, logger: logger)
            state.withLock { state in
                state.lastConnectFailure = nil
                state.isHealthy = true
            }
            return connection
        } catch {
            let wasHealthy = state.withLock { state in
                defer {
                    state.lastConnectFailure = (ContinuousClock.now, error)
                    state.isHealthy = false
                }
                return state.isHealthy
            }
            if wasHealthy {
                logger.error("cannot connect to PostgreSQL", ["server": settings.description, "error": error])
            }
            freeSlot(connectFailure: error)
            throw error
        }
    }

    /// Gives back the slot of a connection that is gone; a waiter gets it to open a new one.
    /// After a failed connect all waiters fail with that error instead: the server is down and
    /// they should not each wait for their own attempt.
    private func freeSlot(connectFailure: BackendError? = nil) {
        let (served, failed) = state.withLock { state -> (Waiter?, [Waiter]) in
            state.openCount -= 1
            state.inUseCount -= 1
            guard !state.isShutdown, !state.waiters.isEmpty else { return (nil, []) }
            if connectFailure != nil {
                defer { state.waiters.removeAll() }
                return (nil, state.waiters)
            }
            state.openCount += 1
            state.inUseCount += 1
            return (state.waiters.removeFirst(), [])
        }
        if let served {
            served.timeout.cancel()
            served.continuation.resume(returning: .open)
        }
        if let connectFailure {
            for waiter in failed {
                waiter.timeout.cancel()
                waiter.continuation.resume(throwing: connectFailure)
            }
        }
    }

    private func release(_ connection: PostgresConnection) async {
        let reusable = !connection.isBroken
        let usable = reusable ? await connection.isIdleAndUsable() : false
        if !usable {
            if connection.isBroken {
                state.withLock { $0.isHealthy = false }
            } else {
                logger.warning("connection returned inside a transaction; discarding it", ["connection": connection.id])
            }
            await connection.close()
            freeSlot()
            return
        }
        let entry = IdleConnection(connection: connection, idleSince: .now)
        enum Outcome { case handedOver(Waiter), kept, close }
        let outcome = state.withLock { state -> Outcome in
            state.isHealthy = true
            if state.isShutdown {
                state.openCount -= 1
                state.inUseCount -= 1
                return .close
            }
            if !state.waiters.isEmpty { return .handedOver(state.waiters.removeFirst()) }
            state.inUseCount -= 1
            state.idle.append(entry)
            return .kept
        }
        switch outcome {
        case .handedOver(let waiter):
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .reuse(entry))
        case .kept: break
        case .close: await connection.close()
        }
    }

    /// Closes idle overflow connections and idle connections past their lifetime.
    private func closeExpiredIdleConnections() async {
        let now = ContinuousClock.now
        let expired = state.withLock { state -> [PostgresConnection] in
            var expired: [PostgresConnection] = []
            var kept: [IdleConnection] = []
            for entry in state.idle {
                let overflow = state.openCount > configuration.connectionsKept
                    && now - entry.idleSince > configuration.overflowIdleTimeout
                let tooOld = now - entry.connection.openedAt > configuration.connectionLifetimeMax
                if overflow || tooOld {
                    expired.append(entry.connection)
                    state.openCount -= 1
                } else {
                    kept.append(entry)
                }
            }
            state.idle = kept
            return expired
        }
        for connection in expired {
            logger.debug("closing idle connection", ["connection": connection.id])
            await connection.close()
        }
    }
}
