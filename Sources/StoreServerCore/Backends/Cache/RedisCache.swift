// The cache in Redis, every key under the server's own key prefix, so clearing never touches
// keys that belong to anyone else (and nothing here calls FLUSHDB or FLUSHALL).

public struct RedisCache: CacheBackend {
    /// Keys per SCAN step (the COUNT hint) and per UNLINK: bounds each round trip and the time
    /// Redis spends on one command, so clearing a large prefix never stalls other clients.
    public static let clearBatchKeysMax = 500

    private let pool: RedisPool
    /// Prepended to every key, e.g. `agentstore:`.
    public let keyPrefix: [UInt8]

    public init(pool: RedisPool, keyPrefix: [UInt8]) {
        self.pool = pool
        self.keyPrefix = keyPrefix
    }

    public init(pool: RedisPool, keyPrefix: String) {
        self.init(pool: pool, keyPrefix: Array(keyPrefix.utf8))
    }

    public var health: CacheHealth {
        // The pool does not track liveness between calls; FallbackCache does.
        .up
    }

    public func get(_ key: [UInt8]) async throws(BackendError) -> [UInt8]? {
        switch try await pool.execute([Array("GET".utf8), keyPrefix + key]).checked(for: "GET") {
        case .bulk(let value): return value
        case .null: return nil
        case let other: throw .rejected(backend: "redis", reason: "GET: unexpected reply \(other)")
        }
    }

    public func set(_ key: [UInt8], value: [UInt8], timeToLive: Duration?) async throws(BackendError) {
        try CacheArguments.validate(timeToLive: timeToLive)
        var command: [[UInt8]] = [Array("SET".utf8), keyPrefix + key, value]
        if let timeToLive {
            command += [Array("PX".utf8), Array(String(CacheArguments.milliseconds(timeToLive)).utf8)]
        }
        _ = try await pool.execute(command).checked(for: "SET")
    }

    public func delete(_ keys: [[UInt8]]) async throws(BackendError) -> Int {
        guard !keys.isEmpty else { return 0 }
        var deleted = 0
        // Batches keep one UNLINK from carrying an unbounded argument list.
        for start in stride(from: 0, to: keys.count, by: Self.clearBatchKeysMax) {
            let batch = keys[start..<min(start + Self.clearBatchKeysMax, keys.count)]
            deleted += try await unlink(batch.map { keyPrefix + $0 })
        }
        return deleted
    }

    /// SCANs for `keyPrefix + prefix` (glob-escaped) and UNLINKs what it finds, batch by batch.
    /// SCAN guarantees every key present for the whole scan is seen; keys written during the
    /// clear may survive it, as with any non-atomic clear.
    public func clear(prefix: [UInt8]) async throws(BackendError) -> Int {
        let pattern = GlobPattern.matchingPrefix(keyPrefix + prefix)
        let count = Array(String(Self.clearBatchKeysMax).utf8)
        var cursor: [UInt8] = Array("0".utf8)
        var deleted = 0
        repeat {
            let reply = try await pool.execute([Array("SCAN".utf8), cursor, Array("MATCH".utf8), pattern,
                                                Array("COUNT".utf8), count]).checked(for: "SCAN")
            guard case .array(let parts) = reply, parts.count == 2,
                  case .bulk(let nextCursor) = parts[0], case .array(let found) = parts[1] else {
                throw .rejected(backend: "redis", reason: "SCAN: unexpected reply \(reply)")
            }
            let keys = found.compactMap { element -> [UInt8]? in
                if case .bulk(let key) = element { return key }
                return nil
            }
            if !keys.isEmpty { deleted += try await unlink(keys) }
            cursor = nextCursor
        } while cursor != Array("0".utf8)
        return deleted
    }

    /// Confirms Redis answers; used by the fallback to decide when to switch back.
    public func ping() async throws(BackendError) {
        _ = try await pool.execute(["PING"]).checked(for: "PING")
    }

    /// UNLINK frees values in the background, so large values do not block Redis.
    private func unlink(_ fullKeys: [[UInt8]]) async throws(BackendError) -> Int {
        let reply = try await pool.execute([Array("UNLINK".utf8)] + fullKeys)
        return Int(try reply.integerValue(for: "UNLINK"))
    }
}
