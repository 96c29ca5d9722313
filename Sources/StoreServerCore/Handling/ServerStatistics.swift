// Counters shared by every connection, read by health and metrics. Atomics, so updating them
// costs no lock on the request path.
import Synchronization

public final class ServerStatistics: Sendable {
    public let startedAt = MonotonicClock.nanoseconds()
    private let openConnections = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)
    private let requestsServed = Atomic<Int>(0)

    public init() {}

    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }
    public var inFlightCount: Int { inFlight.load(ordering: .relaxed) }
    public var requestCount: Int { requestsServed.load(ordering: .relaxed) }
    public var uptimeMilliseconds: UInt64 { (MonotonicClock.nanoseconds() - startedAt) / 1_000_000 }

    func connectionOpened() { openConnections.add(1, ordering: .relaxed) }
    func connectionClosed() { openConnections.subtract(1, ordering: .relaxed) }
    func requestStarted() { inFlight.add(1, ordering: .relaxed) }
    func requestFinished() {
        inFlight.subtract(1, ordering: .relaxed)
        requestsServed.add(1, ordering: .relaxed)
    }
    func requestAnsweredImmediately() { requestsServed.add(1, ordering: .relaxed) }
}
