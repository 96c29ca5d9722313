// The cache as request handling sees it: get, set with a time to live, delete, and clear by key
// prefix. Keys and values are opaque bytes; implementations add their own key namespace.

public protocol CacheBackend: Sendable {
    /// The value stored under `key`, or nil when absent or expired.
    func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]?
    /// Stores `value` under `key`, replacing any previous value. `timeToLive` nil keeps it until
    /// evicted or deleted; otherwise it must be positive (`.invalidArgument` if not).
    func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError)
    /// Deletes the keys and returns how many of them existed.
    func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int
    /// Deletes every key that starts with `prefix` (an empty prefix: every key of this cache,
    /// never anything outside it) and returns how many were deleted.
    func clear(prefix: [UInt8]) async throws(BackendError) -> Int
    /// For the health report.
    var health: CacheHealth { get }
}

/// The cache's state as reported by health.
public enum CacheHealth: String, Sendable, Equatable {
    /// Serving from Redis.
    case up
    /// Redis is unreachable; answers come from the bounded in-process cache.
    case degraded
    /// Redis is unreachable and there is no fallback: calls fail.
    case down
    /// Caching is switched off (`ENABLE_CACHE=false`); every get misses.
    case disabled
}

/// Argument checks and conversions shared by the cache implementations.
enum CacheArguments {
    /// A year: longer lifetimes are almost surely unit mistakes, and the bound keeps the
    /// millisecond arithmetic far from overflow.
    static let timeToLiveMax: Duration = .seconds(365 * 24 * 3600)

    static func validate(timeToLive: Duration?) throws(BackendError) {
        guard let timeToLive else { return }
        if timeToLive <= .zero {
            throw .invalidArgument(field: "timeToLive", reason: "must be positive")
        }
        if timeToLive > timeToLiveMax {
            throw .invalidArgument(field: "timeToLive", reason: "longer than \(timeToLiveMax)")
        }
    }

    /// Whole milliseconds, rounded up so that a positive duration never becomes 0 (Redis
    /// refuses `PX 0`, and rounding down would shorten the promised lifetime). Call only on a
    /// validated duration.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let perMillisecond: Int64 = 1_000_000_000_000_000
        let (whole, remainder) = attoseconds.quotientAndRemainder(dividingBy: perMillisecond)
        return seconds * 1_000 + whole + (remainder > 0 ? 1 : 0)
    }
}
