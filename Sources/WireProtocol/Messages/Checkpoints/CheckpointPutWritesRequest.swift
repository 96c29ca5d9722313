// CHECKPOINT_PUT_WRITES (0x0102): stores a task's pending writes against a checkpoint.

/// One write of a PUT_WRITES batch.
public struct CheckpointWrite: Sendable, Hashable, Codable {
    /// The write's index within its task; special channels use fixed negative indexes
    /// (`__error__` -1, `__scheduled__` -2, `__interrupt__` -3, `__resume__` -4).
    public var index: Int32
    public var channel: String
    public var type: String
    public var value: [UInt8]

    public init(index: Int32, channel: String, type: String, value: [UInt8]) {
        self.index = index
        self.channel = channel
        self.type = type
        self.value = value
    }
}

public struct CheckpointPutWritesRequest: WireMessage, Hashable, Codable {
    public var threadID: String
    public var namespace: String
    public var checkpointID: String
    public var taskID: String
    public var taskPath: String
    public var writes: [CheckpointWrite]

    public init(threadID: String, namespace: String = "", checkpointID: String, taskID: String, taskPath: String = "",
                writes: [CheckpointWrite]) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.taskID = taskID
        self.taskPath = taskPath
        self.writes = writes
    }

    /// True when every write uses a special (negative) index: such a batch replaces existing
    /// rows; any other batch keeps them.
    public var replacesExisting: Bool {
        !writes.isEmpty && writes.allSatisfy { $0.index < 0 }
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(threadID)
        writer.writeString(namespace)
        writer.writeString(checkpointID)
        writer.writeString(taskID)
        writer.writeString(taskPath)
        writer.writeList(writes) { writer, write in
            writer.writeInt32(write.index)
            writer.writeString(write.channel)
            writer.writeString(write.type)
            writer.writeBytes(write.value)
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointPutWritesRequest {
        let threadID = try reader.readString("thread_id")
        let namespace = try reader.readString("checkpoint_ns")
        let checkpointID = try reader.readString("checkpoint_id")
        let taskID = try reader.readString("task_id")
        let taskPath = try reader.readString("task_path")
        // An i32 and three length-prefixed fields.
        let count = try reader.readCount("writes", minimumElementBytes: 16)
        var writes: [CheckpointWrite] = []
        writes.reserveCapacity(count)
        for _ in 0..<count {
            writes.append(CheckpointWrite(index: try reader.readInt32("idx"), channel: try reader.readString("channel"),
                                          type: try reader.readString("type"), value: try reader.readBytes("value")))
        }
        return CheckpointPutWritesRequest(threadID: threadID, namespace: namespace, checkpointID: checkpointID,
                                          taskID: taskID, taskPath: taskPath, writes: writes)
    }
}
