// Redis with an in-process fallback: while Redis is unreachable the cache keeps answering from
// a bounded in-process store, reports `degraded`, and reconnects in the background.
//
// Switch-back policy (why no stale value is served afterwards): while degraded, every key
// written or deleted, and every prefix cleared, is recorded. Redis may still hold the values
// those operations replaced (it was only unreachable, or restarted from a snapshot). Before
// serving from Redis again, the background task deletes each recorded key and clears each
// recorded prefix in Redis, then, under the same lock that degraded operations take, checks
// that nothing new was recorded meanwhile, switches to Redis and empties the fallback. Values
// written while degraded are thus dropped, not copied back: the cost is a few extra misses, and
// a miss is always safe for a cache. If too much was recorded, the whole key prefix is cleared.
// Operations that raced with the outage (sent to Redis, failed) are applied to the fallback
// and recorded too, so a write whose outcome in Redis is unknown is deleted on switch-back.
import Synchronization

public final class FallbackCache: CacheBackend {
    /// Keys recorded while degraded before giving up on precision and clearing the whole key
    /// prefix on switch-back; bounds the memory the record takes during a long outage.
    public static let recordedKeysMax = 100_000
    /// Cleared prefixes recorded before switching to clearing everything, for the same reason.
    public static let recordedPrefixesMax = 1_000
    /// First reconnect attempt after this delay, doubling up to `reconnectDelayMax`.
    public static let reconnectDelayMin: Duration = .milliseconds(100)
    /// Caps the backoff so recovery is noticed within a few seconds.
    public static let reconnectDelayMax: Duration = .seconds(5)

    private enum Mode { case up, degraded }

    /// What degraded operations changed, to be deleted from Redis before switching back.
    private struct Record {
        var keys: Set<[UInt8]> = []
        var prefixes: [[UInt8]] = []
        var overflowed = false
        var isEmpty: Bool { keys.isEmpty && prefixes.isEmpty && !overflowed }

        mutating func add(key: [UInt8]) {
            guard !overflowed else { return }
            keys.insert(key)
            if keys.count > FallbackCache.recordedKeysMax { overflow() }
        }

        mutating func add(prefix: [UInt8]) {
            guard !overflowed else { return }
            prefixes.append(prefix)
            if prefixes.count > FallbackCache.recordedPrefixesMax { overflow() }
        }

        mutating func merge(_ other: Record) {
            if other.overflowed { overflow(); return }
            other.keys.forEach { add(key: $0) }
            other.prefixes.forEach { add(prefix: $0) }
        }

        private mutating func overflow() {
            overflowed = true
            keys = []
            prefixes = []
        }
    }

    private struct State {
        var mode = Mode.up
        var record = Record()
        var reconnectTask: Task<Void, Never>?
        var isShutDown = false
    }

    private let redis: RedisCache
    private let fallback: InProcessCache
    private let logger: Logger
    private let state = Mutex(State())

    public init(redis: RedisCache, fallback: InProcessCache, logger: Logger) {
        self.redis = redis
        self.fallback = fallback
        self.logger = logger.labeled("cache")
    }

    public var health: CacheHealth {
        state.withLock { $0.mode == .up ? .up : .degraded }
    }

    public func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]? {
        try await perform(
            onRedis: { () async throws(BackendError) in try await redis.get(key) },
            onFallback: { _ in fallback.getNow(key) })
    }

    public func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError) {
        try CacheArguments.validate(timeToLive: timeToLive)
        try await perform(
            onRedis: { () async throws(BackendError) in try await redis.set(key, value: value, timeToLive: timeToLive) },
            onFallback: { record in
                record.add(key: key)
                fallback.setNow(key, value: value, timeToLive: timeToLive)
            })
    }

    public func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int {
        try await perform(
            onRedis: { () async throws(BackendError) in try await redis.delete(keys) },
            onFallback: { record in
                keys.forEach { record.add(key: $0) }
                return fallback.deleteNow(keys)
            })
    }

    public func clear(prefix: [UInt8]) async throws(BackendError) -> Int {
        try await perform(
            onRedis: { () async throws(BackendError) in try await redis.clear(prefix: prefix) },
            onFallback: { record in
                record.add(prefix: prefix)
                return fallback.clearNow(prefix: prefix)
            })
    }

    /// Stops the background reconnect. The cache keeps answering in its current mode.
    public func shutdown() {
        let task = state.withLock { state in
            state.isShutDown = true
            defer { state.reconnectTask = nil }
            return state.reconnectTask
        }
        task?.cancel()
    }

    /// Runs `onFallback` under the state lock when degraded (so it cannot interleave with the
    /// switch back); otherwise tries Redis and, if Redis is unreachable, degrades and retries on
    /// the fallback. Errors other than `.unavailable` (bad arguments, Redis refusing a command,
    /// a busy pool) pass through: they do not mean Redis is gone.
    private func perform<T>(onRedis: () async throws(BackendError) -> T,
                            onFallback: (inout Record) -> T) async throws(BackendError) -> T {
        // A one-element array rather than T? because T may itself be optional (get).
        let local: [T] = state.withLock { state in
            guard state.mode == .degraded else { return [] }
            return [onFallback(&state.record)]
        }
        if let value = local.first { return value }
        do {
            return try await onRedis()
        } catch {
            guard case .unavailable(_, let reason, _) = error else { throw error }
            return state.withLock { state in
                enterDegradedMode(&state, reason: reason)
                return onFallback(&state.record)
            }
        }
    }

    /// Called with the state lock held.
    private func enterDegradedMode(_ state: inout State, reason: String) {
        guard state.mode == .up else { return }
        state.mode = .degraded
        logger.warning("redis unreachable; serving from the in-process cache", ["reason": reason])
        guard !state.isShutDown else { return }
        state.reconnectTask = Task { [weak self] in
            await self?.reconnect()
        }
    }

    private func reconnect() async {
        var delay = Self.reconnectDelayMin
        var attempts = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: delay)
            } catch {
                return  // Cancelled by shutdown.
            }
            attempts += 1
            do {
                try await redis.ping()
                if try await reconcileAndSwitchBack() {
                    logger.notice("redis reachable again; switched back", ["attempts": attempts])
                    return
                }
            } catch {
                logger.debug("redis still unreachable", ["attempt": attempts, "error": error])
                delay = min(delay * 2, Self.reconnectDelayMax)
            }
        }
    }

    /// Deletes from Redis what degraded operations changed, until nothing new was recorded, then
    /// switches to Redis. Returns false if shut down meanwhile. Each round handles only what was
    /// recorded during the previous one, so under a steady trickle of writes it converges.
    private func reconcileAndSwitchBack() async throws(BackendError) -> Bool {
        while true {
            let work = state.withLock { state in
                defer { state.record = Record() }
                return state.record
            }
            if work.isEmpty {
                let switched: Bool? = state.withLock { state in
                    if state.isShutDown { return false }
                    guard state.record.isEmpty else { return nil }
                    state.mode = .up
                    state.reconnectTask = nil
                    fallback.removeAllNow()
                    return true
                }
                if let switched { return switched }
                continue
            }
            do {
                try await purge(work)
            } catch {
                state.withLock { $0.record.merge(work) }
                throw error
            }
        }
    }

    private func purge(_ work: Record) async throws(BackendError) {
        if work.overflowed {
            let deleted = try await redis.clear(prefix: [])
            logger.notice("cleared the cache after a long outage", ["deleted": deleted])
            return
        }
        for prefix in work.prefixes {
            _ = try await redis.clear(prefix: prefix)
        }
        if !work.keys.isEmpty {
            _ = try await redis.delete(Array(work.keys))
        }
    }
}
