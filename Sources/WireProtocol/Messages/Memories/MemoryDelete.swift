// MEMORY_DELETE (0x0404): remove an item and its vectors; deleting a missing item succeeds.

public struct MemoryDeleteRequest: WireMessage, Hashable {
    public var namespace: [String]
    public var key: String

    public init(namespace: [String], key: String) {
        self.namespace = namespace
        self.key = key
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeNamespace(namespace)
        writer.writeString(key)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryDeleteRequest {
        MemoryDeleteRequest(namespace: try reader.readNamespace(), key: try reader.readString("key"))
    }
}
