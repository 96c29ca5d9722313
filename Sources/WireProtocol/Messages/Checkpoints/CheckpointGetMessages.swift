// CHECKPOINT_GET (0x0103): one checkpoint by id, or the newest of (thread, namespace).

public struct CheckpointGetRequest: WireMessage, Hashable, Codable {
    public var threadID: String
    public var namespace: String
    /// Nil asks for the newest checkpoint of (thread, namespace).
    public var checkpointID: String?

    public init(threadID: String, namespace: String = "", checkpointID: String? = nil) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(threadID)
        writer.writeString(namespace)
        writer.writeOptional(checkpointID) { $0.writeString($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointGetRequest {
        let threadID = try reader.readString("thread_id")
        let namespace = try reader.readString("checkpoint_ns")
        let id: String? = try reader.readPresence("checkpoint_id") ? try reader.readString("checkpoint_id") : nil
        return CheckpointGetRequest(threadID: threadID, namespace: namespace, checkpointID: id)
    }
}

/// `opt<CheckpointRecord>`: absent when no such checkpoint exists (GET never answers not_found).
public struct CheckpointGetResponse: WireMessage, Hashable, Codable {
    public var record: CheckpointRecord?

    public init(record: CheckpointRecord?) { self.record = record }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptional(record) { writer, record in record.write(into: &writer) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointGetResponse {
        CheckpointGetResponse(record: try reader.readPresence("record") ? try CheckpointRecord.read(from: &reader) : nil)
    }
}
