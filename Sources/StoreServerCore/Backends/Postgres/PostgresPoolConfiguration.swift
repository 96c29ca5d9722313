// The pool's knobs in one place, with defaults familiar from SQLAlchemy's QueuePool
// (pool_size 5, max_overflow 10, pre-ping, pool_recycle 3600 s).

public struct PostgresPoolConfiguration: Sendable, Equatable {
    /// Connections kept open while idle. Enough for steady light load without reconnecting.
    public var connectionsKept: Int = 5
    /// Extra connections opened under load beyond `connectionsKept`, closed again once idle for
    /// `overflowIdleTimeout`. Bounds the server's share of PostgreSQL's max_connections.
    public var overflowConnectionsMax: Int = 10
    /// How long a caller waits for a free connection before `BackendError.poolExhausted`.
    /// Bounded so that overload turns into errors the client can retry, not a pile-up.
    public var acquireTimeout: Duration = .seconds(5)
    /// A connection idle longer than this is checked with a trivial query before reuse, because
    /// the server or a middlebox may have dropped it meanwhile.
    public var healthCheckAfterIdle: Duration = .seconds(10)
    /// Connections older than this are closed and replaced, releasing server-side memory that
    /// long sessions accumulate (plan caches, catalog caches).
    public var connectionLifetimeMax: Duration = .seconds(3600)
    /// Overflow connections idle longer than this are closed. Short so bursts do not hold
    /// connections, long enough not to reconnect on every burst.
    public var overflowIdleTimeout: Duration = .seconds(30)
    /// After a failed connect, calls within this interval fail at once with the same error
    /// instead of each waiting for its own connect attempt against a server that is down.
    public var failFastAfterConnectFailure: Duration = .milliseconds(250)
    /// How often idle connections are checked for overflow and lifetime expiry.
    public var maintenanceInterval: Duration = .seconds(1)

    public init() {}

    /// The most connections the pool ever has open at once.
    public var connectionsMax: Int { connectionsKept + overflowConnectionsMax }
}
