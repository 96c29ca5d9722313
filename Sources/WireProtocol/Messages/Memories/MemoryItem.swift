// A stored memory as the server returns it, and the search variant that carries a score.

/// `value` is the JSON text of an object as PostgreSQL stores it (jsonb normalizes spacing and key
/// order). Times are microseconds since the Unix epoch, UTC.
public struct MemoryItem: WireMessage, Hashable {
    public var namespace: [String]
    public var key: String
    public var value: String
    public var createdAtMicroseconds: Int64
    public var updatedAtMicroseconds: Int64
    /// Absent when the item never expires.
    public var expiresAtMicroseconds: Int64?

    public init(namespace: [String], key: String, value: String, createdAtMicroseconds: Int64,
                updatedAtMicroseconds: Int64, expiresAtMicroseconds: Int64?) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.createdAtMicroseconds = createdAtMicroseconds
        self.updatedAtMicroseconds = updatedAtMicroseconds
        self.expiresAtMicroseconds = expiresAtMicroseconds
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeNamespace(namespace)
        writer.writeString(key)
        writer.writeString(value)
        writer.writeInt64(createdAtMicroseconds)
        writer.writeInt64(updatedAtMicroseconds)
        writer.writeOptional(expiresAtMicroseconds) { $0.writeInt64($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryItem {
        MemoryItem(namespace: try reader.readNamespace(),
                   key: try reader.readString("key"),
                   value: try reader.readString("value"),
                   createdAtMicroseconds: try reader.readInt64("created_at_us"),
                   updatedAtMicroseconds: try reader.readInt64("updated_at_us"),
                   expiresAtMicroseconds: try reader.readOptional("expires_at_us") { (r) throws(WireDecodingError) in
                       try r.readInt64("expires_at_us")
                   })
    }

    /// Smallest encoding: empty namespace, key and value, two times, absent expiry.
    static let encodedBytesMin = 4 + 4 + 4 + 8 + 8 + 1
}

/// A search hit: the item, then its score when the search had a query vector (higher is
/// better: cosine similarity, negative L2 distance, or inner product).
public struct MemorySearchItem: WireMessage, Hashable {
    public var item: MemoryItem
    public var score: Double?

    public init(item: MemoryItem, score: Double?) {
        self.item = item
        self.score = score
    }

    public func write(into writer: inout ByteWriter) {
        item.write(into: &writer)
        writer.writeOptional(score) { $0.writeFloat64($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemorySearchItem {
        MemorySearchItem(item: try MemoryItem.read(from: &reader),
                         score: try reader.readOptional("score") { (r) throws(WireDecodingError) in try r.readFloat64("score") })
    }
}

/// One page of search results (a partial or the final response): list<SearchItem>.
public struct MemorySearchPage: WireMessage, Hashable {
    public var items: [MemorySearchItem]

    public init(items: [MemorySearchItem]) { self.items = items }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(items) { item, element in element.write(into: &item) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemorySearchPage {
        let count = try reader.readCount("items", minimumElementBytes: MemoryItem.encodedBytesMin + 1)
        var items: [MemorySearchItem] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try MemorySearchItem.read(from: &reader)) }
        return MemorySearchPage(items: items)
    }
}
