// Handlers of the cache operations: validate, map to the server's client key space, call the
// configured cache (Redis with fallback, or the disabled cache).
import WireProtocol

struct CacheHandlers: Sendable {
    let cache: any CacheBackend
    /// Used when a set carries no time to live (`CACHE_TTL`).
    let defaultTimeToLive: Duration

    func get(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(CacheGetRequest.self)
        try Self.validate(key: message.key, field: "key")
        let value = try await cache.get(CacheKeySpace.client(message.key))
        return CacheGetResponse(value: value).encodedBody
    }

    func set(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(CacheSetRequest.self)
        try Self.validate(key: message.key, field: "key")
        let timeToLive: Duration
        if let milliseconds = message.timeToLiveMilliseconds {
            guard milliseconds > 0, milliseconds <= CacheLimits.timeToLiveMillisecondsMax else {
                throw RequestError.invalidArgument(
                    field: "ttl_ms", "must be 1...\(CacheLimits.timeToLiveMillisecondsMax), got \(milliseconds)")
            }
            timeToLive = .milliseconds(Int64(milliseconds))
        } else {
            timeToLive = defaultTimeToLive
        }
        try await cache.set(CacheKeySpace.client(message.key), value: message.value, timeToLive: timeToLive)
        return []
    }

    func delete(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(CacheDeleteRequest.self)
        guard message.keys.count <= CacheLimits.deleteKeysMax else {
            throw RequestError.invalidArgument(field: "keys", "at most \(CacheLimits.deleteKeysMax) keys, got \(message.keys.count)")
        }
        for key in message.keys { try Self.validate(key: key, field: "keys") }
        let deleted = try await cache.delete(message.keys.map(CacheKeySpace.client))
        return CacheCountResponse(count: UInt64(deleted)).encodedBody
    }

    func clear(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(CacheClearRequest.self)
        guard message.prefix.count <= CacheLimits.keyBytesMax else {
            throw RequestError.invalidArgument(field: "prefix", "longer than \(CacheLimits.keyBytesMax) bytes")
        }
        let deleted = try await cache.clear(prefix: CacheKeySpace.client(message.prefix))
        return CacheCountResponse(count: UInt64(deleted)).encodedBody
    }

    private static func validate(key: [UInt8], field: String) throws(RequestError) {
        if key.isEmpty { throw .invalidArgument(field: field, "a key must not be empty") }
        if key.count > CacheLimits.keyBytesMax {
            throw .invalidArgument(field: field, "key of \(key.count) bytes is over \(CacheLimits.keyBytesMax)")
        }
    }
}
