// The cache used when `ENABLE_CACHE=false`: every get misses and writes are dropped, so the
// handler can call the cache unconditionally.

public struct DisabledCache: CacheBackend {
    public init() {}
    public func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]? { nil }
    public func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError) {
        try CacheArguments.validate(timeToLive: timeToLive)
    }
    public func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int { 0 }
    public func clear(prefix: [UInt8]) async throws(BackendError) -> Int { 0 }
    public var health: CacheHealth { .disabled }
}
