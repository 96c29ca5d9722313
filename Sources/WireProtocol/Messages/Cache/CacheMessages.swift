// Request and response bodies of the cache operations (protocol-spec.md section 7.3). Keys and
// values are opaque bytes: any byte, NUL and CR/LF included, round-trips.

public struct CacheGetRequest: WireMessage, Hashable {
    public var key: [UInt8]

    public init(key: [UInt8]) { self.key = key }

    public func write(into writer: inout ByteWriter) { writer.writeBytes(key) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheGetRequest {
        CacheGetRequest(key: try reader.readBytes("key"))
    }
}

public struct CacheGetResponse: WireMessage, Hashable {
    /// Nil when the key is absent or expired.
    public var value: [UInt8]?

    public init(value: [UInt8]?) { self.value = value }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptional(value) { writer, value in writer.writeBytes(value) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheGetResponse {
        CacheGetResponse(value: try reader.readPresence("value") ? try reader.readBytes("value") : nil)
    }
}

public struct CacheSetRequest: WireMessage, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    /// Nil: the server's default (`CACHE_TTL`).
    public var timeToLiveMilliseconds: UInt64?

    public init(key: [UInt8], value: [UInt8], timeToLiveMilliseconds: UInt64? = nil) {
        self.key = key
        self.value = value
        self.timeToLiveMilliseconds = timeToLiveMilliseconds
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeBytes(key)
        writer.writeBytes(value)
        writer.writeOptional(timeToLiveMilliseconds) { writer, ttl in writer.writeUInt64(ttl) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheSetRequest {
        let key = try reader.readBytes("key")
        let value = try reader.readBytes("value")
        let ttl = try reader.readPresence("ttl_ms") ? try reader.readUInt64("ttl_ms") : nil
        return CacheSetRequest(key: key, value: value, timeToLiveMilliseconds: ttl)
    }
}

public struct CacheDeleteRequest: WireMessage, Hashable {
    public var keys: [[UInt8]]

    public init(keys: [[UInt8]]) { self.keys = keys }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(keys) { writer, key in writer.writeBytes(key) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheDeleteRequest {
        // Each key is at least its 4-byte length.
        let count = try reader.readCount("keys", minimumElementBytes: 4)
        var keys: [[UInt8]] = []
        keys.reserveCapacity(count)
        for _ in 0..<count { keys.append(try reader.readBytes("key")) }
        return CacheDeleteRequest(keys: keys)
    }
}

public struct CacheClearRequest: WireMessage, Hashable {
    /// Empty clears every key set through the cache operations.
    public var prefix: [UInt8]

    public init(prefix: [UInt8]) { self.prefix = prefix }

    public func write(into writer: inout ByteWriter) { writer.writeBytes(prefix) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheClearRequest {
        CacheClearRequest(prefix: try reader.readBytes("prefix"))
    }
}

/// The answer to delete and clear: how many keys existed and were deleted.
public struct CacheCountResponse: WireMessage, Hashable {
    public var count: UInt64

    public init(count: UInt64) { self.count = count }

    public func write(into writer: inout ByteWriter) { writer.writeUInt64(count) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CacheCountResponse {
        CacheCountResponse(count: try reader.readUInt64("count"))
    }
}
