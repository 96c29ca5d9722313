// MEMORY_PUT (0x0402): insert or replace an item, its vectors and its time to live.

/// One indexed field's vector.
public struct MemoryFieldVector: Sendable, Hashable {
    public var field: String
    public var vector: [Float]

    public init(field: String, vector: [Float]) {
        self.field = field
        self.vector = vector
    }
}

public struct MemoryPutRequest: WireMessage, Hashable {
    public var namespace: [String]
    public var key: String
    /// JSON text of an object.
    public var value: String
    /// "" when the item has no vectors.
    public var collection: String
    /// Replaces the item's previous vectors; empty = the item has none.
    public var vectors: [MemoryFieldVector]
    /// Absent = never expires.
    public var timeToLiveMilliseconds: UInt64?

    public init(namespace: [String], key: String, value: String, collection: String = "",
                vectors: [MemoryFieldVector] = [], timeToLiveMilliseconds: UInt64? = nil) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.collection = collection
        self.vectors = vectors
        self.timeToLiveMilliseconds = timeToLiveMilliseconds
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeNamespace(namespace)
        writer.writeString(key)
        writer.writeString(value)
        writer.writeString(collection)
        writer.writeList(vectors) { writer, entry in
            writer.writeString(entry.field)
            writer.writeVector(entry.vector)
        }
        writer.writeOptional(timeToLiveMilliseconds) { $0.writeUInt64($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryPutRequest {
        let namespace = try reader.readNamespace()
        let key = try reader.readString("key")
        let value = try reader.readString("value")
        let collection = try reader.readString("collection")
        // A field string (4) plus a vector dimension (4) at least.
        let count = try reader.readCount("vectors", minimumElementBytes: 8)
        var vectors: [MemoryFieldVector] = []
        vectors.reserveCapacity(count)
        for _ in 0..<count {
            let field = try reader.readString("field")
            let vector = try reader.readVector("vector", dimensionMax: ProtocolLimits.vectorDimensionMaxDefault)
            vectors.append(MemoryFieldVector(field: field, vector: vector))
        }
        let ttl = try reader.readOptional("ttl_ms") { (r) throws(WireDecodingError) in try r.readUInt64("ttl_ms") }
        return MemoryPutRequest(namespace: namespace, key: key, value: value, collection: collection,
                                vectors: vectors, timeToLiveMilliseconds: ttl)
    }
}
