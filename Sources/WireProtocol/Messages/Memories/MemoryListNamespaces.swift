// MEMORY_LIST_NAMESPACES (0x0406): distinct namespaces matching a prefix and/or suffix.

public struct MemoryListNamespacesRequest: WireMessage, Hashable {
    /// A "*" label matches any one label.
    public var prefix: [String]?
    public var suffix: [String]?
    public var maxDepth: UInt32?
    public var limit: UInt32
    public var offset: UInt32

    public init(prefix: [String]? = nil, suffix: [String]? = nil, maxDepth: UInt32? = nil, limit: UInt32 = 100,
                offset: UInt32 = 0) {
        self.prefix = prefix
        self.suffix = suffix
        self.maxDepth = maxDepth
        self.limit = limit
        self.offset = offset
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptional(prefix) { $0.writeNamespace($1) }
        writer.writeOptional(suffix) { $0.writeNamespace($1) }
        writer.writeOptional(maxDepth) { $0.writeUInt32($1) }
        writer.writeUInt32(limit)
        writer.writeUInt32(offset)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryListNamespacesRequest {
        MemoryListNamespacesRequest(
            prefix: try reader.readOptional("prefix") { (r) throws(WireDecodingError) in try r.readNamespace("prefix") },
            suffix: try reader.readOptional("suffix") { (r) throws(WireDecodingError) in try r.readNamespace("suffix") },
            maxDepth: try reader.readOptional("max_depth") { (r) throws(WireDecodingError) in try r.readUInt32("max_depth") },
            limit: try reader.readUInt32("limit"),
            offset: try reader.readUInt32("offset"))
    }
}

/// list<namespace>, sorted and distinct.
public struct MemoryListNamespacesResponse: WireMessage, Hashable {
    public var namespaces: [[String]]

    public init(namespaces: [[String]]) { self.namespaces = namespaces }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(namespaces) { $0.writeNamespace($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryListNamespacesResponse {
        let count = try reader.readCount("namespaces", minimumElementBytes: 4)
        var namespaces: [[String]] = []
        namespaces.reserveCapacity(count)
        for _ in 0..<count { namespaces.append(try reader.readNamespace()) }
        return MemoryListNamespacesResponse(namespaces: namespaces)
    }
}
