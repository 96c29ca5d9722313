// MEMORY_GET (0x0403): one item by namespace and key; absent when missing or expired.

public struct MemoryGetRequest: WireMessage, Hashable {
    public var namespace: [String]
    public var key: String
    /// Push the expiry forward by the item's own ttl (never revives an expired item).
    public var refreshTimeToLive: Bool

    public init(namespace: [String], key: String, refreshTimeToLive: Bool = false) {
        self.namespace = namespace
        self.key = key
        self.refreshTimeToLive = refreshTimeToLive
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeNamespace(namespace)
        writer.writeString(key)
        writer.writeBool(refreshTimeToLive)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryGetRequest {
        MemoryGetRequest(namespace: try reader.readNamespace(), key: try reader.readString("key"),
                         refreshTimeToLive: try reader.readBool("refresh_ttl"))
    }
}

/// opt<Item>.
public struct MemoryGetResponse: WireMessage, Hashable {
    public var item: MemoryItem?

    public init(item: MemoryItem?) { self.item = item }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptional(item) { writer, item in item.write(into: &writer) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryGetResponse {
        MemoryGetResponse(item: try reader.readOptional("item") { (r) throws(WireDecodingError) in try MemoryItem.read(from: &r) })
    }
}
