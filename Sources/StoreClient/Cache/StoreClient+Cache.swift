import WireProtocol

// Typed calls for the cache operations of protocol-spec.md section 7.3.

extension StoreClient {
    /// The value stored under `key`, nil when absent or expired.
    public func cacheGet(_ key: [UInt8], timeout: Duration? = nil) async throws(StoreClientError) -> [UInt8]? {
        let response = try await send(opcode: .cacheGet, body: CacheGetRequest(key: key).encodedBody, timeout: timeout)
        return try decodeResponse(CacheGetResponse.self, from: response, operation: "CACHE_GET").value
    }

    /// Stores `value` under `key` for `timeToLive` (rounded up to whole milliseconds), or the
    /// server's default (`CACHE_TTL`) when nil.
    public func cacheSet(_ key: [UInt8], value: [UInt8], timeToLive: Duration? = nil,
                         timeout: Duration? = nil) async throws(StoreClientError) {
        let milliseconds = timeToLive.map { duration -> UInt64 in
            let (seconds, attoseconds) = duration.components
            let perMillisecond: Int64 = 1_000_000_000_000_000
            let whole = seconds * 1000 + attoseconds / perMillisecond + (attoseconds % perMillisecond > 0 ? 1 : 0)
            return UInt64(max(0, whole))
        }
        let body = CacheSetRequest(key: key, value: value, timeToLiveMilliseconds: milliseconds).encodedBody
        _ = try await send(opcode: .cacheSet, body: body, timeout: timeout)
    }

    /// Deletes the keys; returns how many existed.
    @discardableResult
    public func cacheDelete(_ keys: [[UInt8]], timeout: Duration? = nil) async throws(StoreClientError) -> Int {
        let response = try await send(opcode: .cacheDelete, body: CacheDeleteRequest(keys: keys).encodedBody, timeout: timeout)
        return Int(try decodeResponse(CacheCountResponse.self, from: response, operation: "CACHE_DELETE").count)
    }

    /// Deletes every key that starts with `prefix` (empty: every key set through the cache
    /// operations); returns how many were deleted.
    @discardableResult
    public func cacheClear(prefix: [UInt8], timeout: Duration? = nil) async throws(StoreClientError) -> Int {
        let response = try await send(opcode: .cacheClear, body: CacheClearRequest(prefix: prefix).encodedBody, timeout: timeout)
        return Int(try decodeResponse(CacheCountResponse.self, from: response, operation: "CACHE_CLEAR").count)
    }
}
