// Keeps this server's indexes in step with vector writes committed by any server sharing the
// database: every `followInterval` it reads the changes above its follow cursor and applies
// them. The scheme that keeps out-of-order commits from being skipped is described in
// MemoryFollowCursor.swift.
import Synchronization

/// Thread safety: `state` is a Mutex; polls run one at a time (the background task, then the
/// clean stop after that task ended), which `poll` relies on for the cursor.
final class MemoryIndexFollower: Sendable {
    private struct State {
        var cursor = MemoryFollowCursor(confirmed: 0)
        /// The catalogue load the cursor belongs to; a newer load replaces it.
        var generation = -1
        /// When the last poll that completed began: every change committed before it is in
        /// the index. Until a poll completes, when the follower was made.
        var caughtUpAt = ContinuousClock.now
    }

    /// Rows per page of a follow read: the same bound as loading, for the same reason.
    static let pageRows = MemoryIndexCatalogue.loadPageRows

    private let source: any MemoryIndexSource
    private let catalogue: MemoryIndexCatalogue
    private let gate: MemoryWriteGate
    private let logger: Logger
    private let state = Mutex(State())

    init(source: any MemoryIndexSource, catalogue: MemoryIndexCatalogue, gate: MemoryWriteGate, logger: Logger) {
        self.source = source
        self.catalogue = catalogue
        self.gate = gate
        self.logger = logger
    }

    /// Whether an earlier read still waits for its writers to end before the cursor can move.
    var hasPending: Bool { state.withLock { $0.cursor.hasPending } }

    /// How stale this server's index may be with respect to writes through other servers:
    /// the time since the start of the last poll that completed. It grows without bound
    /// while polls fail (PostgreSQL down), which is what an alert should watch.
    var followAge: Duration { ContinuousClock.now - state.withLock { $0.caughtUpAt } }

    /// One poll: (a) which writers run now, (b) read and apply every change above the cursor,
    /// then move the cursor to the newest earlier read whose writers have all ended. The
    /// index must be loaded.
    func poll() async throws {
        let began = ContinuousClock.now
        var (cursor, generation) = state.withLock { ($0.cursor, $0.generation) }
        let loaded = catalogue.loadGeneration
        if generation != loaded {
            cursor = MemoryFollowCursor(confirmed: catalogue.followedThrough)
            generation = loaded
        }
        let settled = cursor.hasPending ? cursor.settled(running: try await source.vectorWriters()) : nil
        var applied = 0
        var unknown = Set<String>()
        let read = try await source.followChanges(after: cursor.confirmed, pageRows: Self.pageRows) { page in
            let result = await catalogue.applyFollowed(page)
            applied += result.applied
            unknown.formUnion(result.unknownCollections)
        }
        if read.tombstoneHorizon > cursor.confirmed {
            // Tombstones this server has not read may be pruned: only a fresh load is sure.
            logger.warning("memory follower behind the tombstone horizon; reloading the indexes",
                           ["followed_through": cursor.confirmed, "horizon": read.tombstoneHorizon])
            try await catalogue.reload()
            state.withLock {
                $0.generation = -1
                $0.caughtUpAt = began
            }
            return
        }
        if !unknown.isEmpty {
            // Collections created through another server. Their skipped changes are read again
            // next time (the cursor does not move now), when their indexes exist.
            for name in unknown { _ = try await catalogue.resolve(name, gate: gate) }
        } else if let settled {
            cursor.confirm(settled)
            catalogue.confirmFollowed(through: cursor.confirmed)
        }
        cursor.record(through: read.highestChange, writers: read.writers)
        let final = cursor
        state.withLock { state in
            state.cursor = final
            state.generation = generation
            // Skipped changes of unknown collections are read only by the next poll.
            if unknown.isEmpty { state.caughtUpAt = began }
        }
        if applied > 0 {
            logger.debug("followed memory changes", ["applied": applied, "followed_through": final.confirmed])
        }
    }

    /// Polls until no read waits on writers (at most `settlePollsMax` times), so the cursor
    /// covers every write this server made; for the snapshot of a clean stop.
    func settle() async throws {
        for attempt in 0..<Self.settlePollsMax {
            try await poll()
            if !hasPending { return }
            if attempt > 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Two polls settle a quiet database (one reads, the next confirms); a few more cover a
    /// write that was still committing.
    static let settlePollsMax = 5

    /// The follow loop of a service: runs until cancelled or the service is released.
    static func start(_ service: MemoryService) -> Task<Void, Never> {
        let interval = service.configuration.followInterval
        let logger = service.logger
        return Task { [weak service] in
            var failing = false
            while true {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return // Cancelled: the server is stopping.
                }
                guard let service, !Task.isCancelled else { return }
                do {
                    try await service.ready()
                    try await service.follower.poll()
                    if failing { logger.notice("memory follower recovered") }
                    failing = false
                } catch {
                    // Logged once per outage; the next poll retries from the same cursor.
                    if !failing { logger.warning("memory follower poll failed", ["error": error]) }
                    failing = true
                }
            }
        }
    }
}
