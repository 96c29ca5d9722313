// Work domains run when the server stops cleanly: after the drain (no request is in flight) and
// before the backends close (PostgreSQL is still reachable). A crash skips them, so nothing
// here may be needed for correctness, only for a faster next start.
import Synchronization

/// Thread safety: the list lives in a Mutex; actions run one after another on the caller's task.
public final class StopActions: Sendable {
    private struct Entry {
        var name: String
        var action: @Sendable () async -> Void
    }

    private let entries = Mutex<[Entry]?>([])

    public init() {}

    /// Adds an action. `name` labels it in the log. An action added after `run()` never runs.
    public func add(_ name: String, _ action: @escaping @Sendable () async -> Void) {
        entries.withLock { $0?.append(Entry(name: name, action: action)) }
    }

    /// Runs every action once, the last added first (as backends stop in reverse order of
    /// start). Actions report their own failures; later calls do nothing.
    public func run(logger: Logger) async {
        let taken = entries.withLock { entries in
            defer { entries = nil }
            return entries ?? []
        }
        for entry in taken.reversed() {
            let started = ContinuousClock.now
            await entry.action()
            logger.info("stop action finished", ["domain": entry.name, "seconds": (ContinuousClock.now - started).seconds])
        }
    }
}
