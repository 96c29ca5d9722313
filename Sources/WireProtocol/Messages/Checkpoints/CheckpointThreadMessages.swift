// Whole-thread operations: DELETE_THREAD (0x0105), DELETE_FOR_RUNS (0x0106), COPY_THREAD (0x0107)
// and PRUNE (0x0108), and the count they answer with.

public struct CheckpointDeleteThreadRequest: WireMessage, Hashable, Codable {
    public var threadID: String

    public init(threadID: String) { self.threadID = threadID }

    public func write(into writer: inout ByteWriter) { writer.writeString(threadID) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointDeleteThreadRequest {
        CheckpointDeleteThreadRequest(threadID: try reader.readString("thread_id"))
    }
}

public struct CheckpointDeleteForRunsRequest: WireMessage, Hashable, Codable {
    /// Checkpoints whose metadata `run_id` is one of these are deleted.
    public var runIDs: [String]

    public init(runIDs: [String]) { self.runIDs = runIDs }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(runIDs) { $0.writeString($1) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointDeleteForRunsRequest {
        let count = try reader.readCount("run_ids", minimumElementBytes: 4)
        var runIDs: [String] = []
        runIDs.reserveCapacity(count)
        for _ in 0..<count { runIDs.append(try reader.readString("run_id")) }
        return CheckpointDeleteForRunsRequest(runIDs: runIDs)
    }
}

public struct CheckpointCopyThreadRequest: WireMessage, Hashable, Codable {
    public var sourceThreadID: String
    public var targetThreadID: String

    public init(sourceThreadID: String, targetThreadID: String) {
        self.sourceThreadID = sourceThreadID
        self.targetThreadID = targetThreadID
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(sourceThreadID)
        writer.writeString(targetThreadID)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointCopyThreadRequest {
        CheckpointCopyThreadRequest(sourceThreadID: try reader.readString("source_thread_id"),
                                    targetThreadID: try reader.readString("target_thread_id"))
    }
}

public enum CheckpointPruneStrategy: UInt8, Sendable, Hashable, Codable, CaseIterable {
    /// Keep only the newest checkpoint of each (thread, namespace).
    case keepLatest = 0
    /// Delete every checkpoint of the threads.
    case delete = 1

    public var name: String {
        switch self {
        case .keepLatest: "keep_latest"
        case .delete: "delete"
        }
    }
}

public struct CheckpointPruneRequest: WireMessage, Hashable, Codable {
    public var threadIDs: [String]
    public var strategy: CheckpointPruneStrategy

    public init(threadIDs: [String], strategy: CheckpointPruneStrategy) {
        self.threadIDs = threadIDs
        self.strategy = strategy
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(threadIDs) { $0.writeString($1) }
        writer.writeUInt8(strategy.rawValue)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointPruneRequest {
        let count = try reader.readCount("thread_ids", minimumElementBytes: 4)
        var threadIDs: [String] = []
        threadIDs.reserveCapacity(count)
        for _ in 0..<count { threadIDs.append(try reader.readString("thread_id")) }
        let raw = try reader.readUInt8("strategy")
        guard let strategy = CheckpointPruneStrategy(rawValue: raw) else {
            throw .invalidField(field: "strategy", reason: "unknown prune strategy \(raw) (0 keep_latest, 1 delete)")
        }
        return CheckpointPruneRequest(threadIDs: threadIDs, strategy: strategy)
    }
}

/// The u64 answer of DELETE_FOR_RUNS and PRUNE: how many checkpoints were removed.
public struct CheckpointCountResponse: WireMessage, Hashable, Codable {
    public var count: UInt64

    public init(count: UInt64) { self.count = count }

    public func write(into writer: inout ByteWriter) { writer.writeUInt64(count) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> CheckpointCountResponse {
        CheckpointCountResponse(count: try reader.readUInt64("count"))
    }
}
