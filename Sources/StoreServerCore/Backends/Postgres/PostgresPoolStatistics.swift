// A snapshot of pool occupancy for metrics.

public struct PostgresPoolStatistics: Sendable, Equatable {
    /// Connections open or being opened.
    public var open: Int
    public var idle: Int
    public var inUse: Int
    /// Callers waiting for a connection.
    public var waiters: Int

    public init(open: Int, idle: Int, inUse: Int, waiters: Int) {
        self.open = open
        self.idle = idle
        self.inUse = inUse
        self.waiters = waiters
    }
}
