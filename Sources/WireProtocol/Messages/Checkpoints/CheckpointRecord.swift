// A stored checkpoint as GET and LIST return it: the opaque document, its metadata, the channel
// values its channel_versions name, and the pending writes made against it.

/// One channel value, stored once per (thread, namespace, channel, version).
public struct CheckpointBlob: Sendable, Hashable, Codable {
    public var channel: String
    public var version: String
    /// The serializer's type tag (for example "msgpack", "json", "empty").
    public var type: String
    public var value: [UInt8]

    public init(channel: String, version: String, type: String, value: [UInt8]) {
        self.channel = channel
        self.version = version
        self.type = type
        self.value = value
    }

    /// Four length-prefixed fields, each at least 4 bytes.
    static let encodedBytesMin = 16

    func write(into writer: inout ByteWriter) {
        writer.writeString(channel)
        writer.writeString(version)
        writer.writeString(type)
        writer.writeBytes(value)
    }

    static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointBlob {
        CheckpointBlob(channel: try reader.readString("channel"), version: try reader.readString("version"),
                       type: try reader.readString("type"), value: try reader.readBytes("value"))
    }
}

/// A write a task made against a checkpoint before the next one was saved.
public struct CheckpointPendingWrite: Sendable, Hashable, Codable {
    public var taskID: String
    public var taskPath: String
    /// The write's index within its task; special channels use fixed negative indexes.
    public var index: Int32
    public var channel: String
    public var type: String
    public var value: [UInt8]

    public init(taskID: String, taskPath: String, index: Int32, channel: String, type: String, value: [UInt8]) {
        self.taskID = taskID
        self.taskPath = taskPath
        self.index = index
        self.channel = channel
        self.type = type
        self.value = value
    }

    /// Five length-prefixed fields and an i32.
    static let encodedBytesMin = 24

    func write(into writer: inout ByteWriter) {
        writer.writeString(taskID)
        writer.writeString(taskPath)
        writer.writeInt32(index)
        writer.writeString(channel)
        writer.writeString(type)
        writer.writeBytes(value)
    }

    static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointPendingWrite {
        CheckpointPendingWrite(taskID: try reader.readString("task_id"), taskPath: try reader.readString("task_path"),
                               index: try reader.readInt32("idx"), channel: try reader.readString("channel"),
                               type: try reader.readString("type"), value: try reader.readBytes("value"))
    }
}

public struct CheckpointRecord: Sendable, Hashable, Codable {
    public var threadID: String
    public var namespace: String
    public var checkpointID: String
    public var parentCheckpointID: String?
    public var checkpointType: String
    /// The serialized checkpoint without its channel values.
    public var checkpoint: [UInt8]
    /// A JSON object.
    public var metadata: String
    /// The blobs named by the checkpoint's channel_versions, ordered by channel.
    public var channelValues: [CheckpointBlob]
    /// Ordered by (task_path, task_id, idx).
    public var pendingWrites: [CheckpointPendingWrite]

    public init(threadID: String, namespace: String, checkpointID: String, parentCheckpointID: String?,
                checkpointType: String, checkpoint: [UInt8], metadata: String,
                channelValues: [CheckpointBlob], pendingWrites: [CheckpointPendingWrite]) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.parentCheckpointID = parentCheckpointID
        self.checkpointType = checkpointType
        self.checkpoint = checkpoint
        self.metadata = metadata
        self.channelValues = channelValues
        self.pendingWrites = pendingWrites
    }

    /// Three strings, a presence byte, a string, bytes, a string and two list counts.
    static let encodedBytesMin = 33

    public func write(into writer: inout ByteWriter) {
        writer.writeString(threadID)
        writer.writeString(namespace)
        writer.writeString(checkpointID)
        writer.writeOptional(parentCheckpointID) { $0.writeString($1) }
        writer.writeString(checkpointType)
        writer.writeBytes(checkpoint)
        writer.writeString(metadata)
        writer.writeList(channelValues) { writer, blob in blob.write(into: &writer) }
        writer.writeList(pendingWrites) { writer, write in write.write(into: &writer) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointRecord {
        let threadID = try reader.readString("thread_id")
        let namespace = try reader.readString("checkpoint_ns")
        let checkpointID = try reader.readString("checkpoint_id")
        let parent: String? = try reader.readPresence("parent_checkpoint_id") ? try reader.readString("parent_checkpoint_id") : nil
        let checkpointType = try reader.readString("checkpoint_type")
        let checkpoint = try reader.readBytes("checkpoint")
        let metadata = try reader.readString("metadata")
        let blobCount = try reader.readCount("channel_values", minimumElementBytes: CheckpointBlob.encodedBytesMin)
        var blobs: [CheckpointBlob] = []
        blobs.reserveCapacity(blobCount)
        for _ in 0..<blobCount { blobs.append(try CheckpointBlob.read(from: &reader)) }
        let writeCount = try reader.readCount("pending_writes", minimumElementBytes: CheckpointPendingWrite.encodedBytesMin)
        var writes: [CheckpointPendingWrite] = []
        writes.reserveCapacity(writeCount)
        for _ in 0..<writeCount { writes.append(try CheckpointPendingWrite.read(from: &reader)) }
        return CheckpointRecord(threadID: threadID, namespace: namespace, checkpointID: checkpointID,
                                parentCheckpointID: parent, checkpointType: checkpointType, checkpoint: checkpoint,
                                metadata: metadata, channelValues: blobs, pendingWrites: writes)
    }
}

/// A list of records: GET's optional record is not this; LIST's partial and final bodies are.
public struct CheckpointRecordList: WireMessage, Hashable, Codable {
    public var records: [CheckpointRecord]

    public init(records: [CheckpointRecord]) { self.records = records }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(records) { writer, record in record.write(into: &writer) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointRecordList {
        let count = try reader.readCount("records", minimumElementBytes: CheckpointRecord.encodedBytesMin)
        var records: [CheckpointRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try CheckpointRecord.read(from: &reader)) }
        return CheckpointRecordList(records: records)
    }
}
