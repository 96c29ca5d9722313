// CHECKPOINT_LIST (0x0104): checkpoints newest first, streamed in pages of CheckpointRecordList.

public struct CheckpointListRequest: WireMessage, Hashable, Codable {
    /// Nil lists every thread.
    public var threadID: String?
    /// Nil lists every namespace.
    public var namespace: String?
    /// Exact match when given.
    public var checkpointID: String?
    /// A JSON object the metadata must contain (jsonb `@>`).
    public var filter: String?
    /// Only checkpoints whose id sorts strictly before this one.
    public var before: String?
    /// At most this many records; 0 returns none.
    public var limit: UInt32?

    public init(threadID: String? = nil, namespace: String? = nil, checkpointID: String? = nil, filter: String? = nil,
                before: String? = nil, limit: UInt32? = nil) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.filter = filter
        self.before = before
        self.limit = limit
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptional(threadID) { $0.writeString($1) }
        writer.writeOptional(namespace) { $0.writeString($1) }
        writer.writeOptional(checkpointID) { $0.writeString($1) }
        writer.writeOptional(filter) { $0.writeString($1) }
        writer.writeOptional(before) { $0.writeString($1) }
        writer.writeOptional(limit) { $0.writeUInt32($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointListRequest {
        let threadID: String? = try reader.readPresence("thread_id") ? try reader.readString("thread_id") : nil
        let namespace: String? = try reader.readPresence("checkpoint_ns") ? try reader.readString("checkpoint_ns") : nil
        let checkpointID: String? = try reader.readPresence("checkpoint_id") ? try reader.readString("checkpoint_id") : nil
        let filter: String? = try reader.readPresence("filter") ? try reader.readString("filter") : nil
        let before: String? = try reader.readPresence("before") ? try reader.readString("before") : nil
        let limit: UInt32? = try reader.readPresence("limit") ? try reader.readUInt32("limit") : nil
        return CheckpointListRequest(threadID: threadID, namespace: namespace, checkpointID: checkpointID,
                                     filter: filter, before: before, limit: limit)
    }
}
