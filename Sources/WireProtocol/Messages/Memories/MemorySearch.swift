// MEMORY_SEARCH (0x0405): items under a namespace prefix, filtered, optionally ranked by vector.

public struct MemorySearchRequest: WireMessage, Hashable {
    /// Label-boundary prefix; empty = every namespace.
    public var namespacePrefix: [String]
    /// JSON text of an object (see spec §7.4 for the operators).
    public var filter: String?
    /// "" when there is no query.
    public var collection: String
    public var query: [Float]?
    public var limit: UInt32
    public var offset: UInt32
    public var refreshTimeToLive: Bool

    public init(namespacePrefix: [String], filter: String? = nil, collection: String = "", query: [Float]? = nil,
                limit: UInt32 = 10, offset: UInt32 = 0, refreshTimeToLive: Bool = false) {
        self.namespacePrefix = namespacePrefix
        self.filter = filter
        self.collection = collection
        self.query = query
        self.limit = limit
        self.offset = offset
        self.refreshTimeToLive = refreshTimeToLive
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeNamespace(namespacePrefix)
        writer.writeOptional(filter) { $0.writeString($1) }
        writer.writeString(collection)
        writer.writeOptional(query) { $0.writeVector($1) }
        writer.writeUInt32(limit)
        writer.writeUInt32(offset)
        writer.writeBool(refreshTimeToLive)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemorySearchRequest {
        let prefix = try reader.readNamespace("namespace_prefix")
        let filter = try reader.readOptional("filter") { (r) throws(WireDecodingError) in try r.readString("filter") }
        let collection = try reader.readString("collection")
        let query = try reader.readOptional("query") { (r) throws(WireDecodingError) in
            try r.readVector("query", dimensionMax: ProtocolLimits.vectorDimensionMaxDefault)
        }
        return MemorySearchRequest(namespacePrefix: prefix, filter: filter, collection: collection, query: query,
                                   limit: try reader.readUInt32("limit"), offset: try reader.readUInt32("offset"),
                                   refreshTimeToLive: try reader.readBool("refresh_ttl"))
    }
}
