// The checkpoint operations: validate each request, call the store, encode the answer.
import WireProtocol

struct CheckpointHandlers: Sendable {
    let store: any CheckpointStore

    func put(_ request: Request) async throws -> [UInt8] {
        var put = try request.decode(CheckpointPutRequest.self)
        try CheckpointValidation.identifier(put.threadID, field: "thread_id", allowsEmpty: false)
        try CheckpointValidation.identifier(put.namespace, field: "checkpoint_ns")
        try CheckpointValidation.identifier(put.checkpointID, field: "checkpoint_id", allowsEmpty: false)
        if let parent = put.parentCheckpointID { try CheckpointValidation.identifier(parent, field: "parent_checkpoint_id") }
        if let expected = put.expectedLatestCheckpointID {
            try CheckpointValidation.identifier(expected, field: "expected_latest")
        }
        try CheckpointValidation.identifier(put.checkpointType, field: "checkpoint_type")
        put.metadata = try CheckpointValidation.metadata(put.metadata, field: "metadata")
        try CheckpointValidation.count(put.channelVersions.count, field: "channel_versions")
        try CheckpointValidation.count(put.blobs.count, field: "blobs")
        for entry in put.channelVersions {
            try CheckpointValidation.identifier(entry.channel, field: "channel_versions.channel")
            try CheckpointValidation.identifier(entry.version, field: "channel_versions.version")
        }
        for blob in put.blobs {
            try CheckpointValidation.identifier(blob.channel, field: "blobs.channel")
            try CheckpointValidation.identifier(blob.version, field: "blobs.version")
            try CheckpointValidation.identifier(blob.type, field: "blobs.type")
        }
        try await store.put(put)
        return []
    }

    func putWrites(_ request: Request) async throws -> [UInt8] {
        let put = try request.decode(CheckpointPutWritesRequest.self)
        try CheckpointValidation.identifier(put.threadID, field: "thread_id", allowsEmpty: false)
        try CheckpointValidation.identifier(put.namespace, field: "checkpoint_ns")
        try CheckpointValidation.identifier(put.checkpointID, field: "checkpoint_id", allowsEmpty: false)
        try CheckpointValidation.identifier(put.taskID, field: "task_id")
        try CheckpointValidation.identifier(put.taskPath, field: "task_path", bytesMax: CheckpointLimits.taskPathBytesMax)
        try CheckpointValidation.count(put.writes.count, field: "writes")
        for write in put.writes {
            try CheckpointValidation.identifier(write.channel, field: "writes.channel")
            try CheckpointValidation.identifier(write.type, field: "writes.type")
        }
        try await store.putWrites(put)
        return []
    }

    func get(_ request: Request) async throws -> [UInt8] {
        let get = try request.decode(CheckpointGetRequest.self)
        try CheckpointValidation.identifier(get.threadID, field: "thread_id", allowsEmpty: false)
        try CheckpointValidation.identifier(get.namespace, field: "checkpoint_ns")
        if let id = get.checkpointID { try CheckpointValidation.identifier(id, field: "checkpoint_id") }
        return CheckpointGetResponse(record: try await store.checkpoint(get)).encodedBody
    }

    /// Streams pages of at most `listPageRecordsMax` records, cut earlier at
    /// `listPageBytesTarget`; the final response holds the last page (possibly empty).
    func list(_ request: Request, stream: any ResponseStreaming) async throws -> [UInt8] {
        var list = try request.decode(CheckpointListRequest.self)
        if let threadID = list.threadID { try CheckpointValidation.identifier(threadID, field: "thread_id", allowsEmpty: false) }
        if let namespace = list.namespace { try CheckpointValidation.identifier(namespace, field: "checkpoint_ns") }
        if let id = list.checkpointID { try CheckpointValidation.identifier(id, field: "checkpoint_id") }
        if let before = list.before { try CheckpointValidation.identifier(before, field: "before") }
        if let filter = list.filter { list.filter = try CheckpointValidation.metadata(filter, field: "filter") }
        var page = PageBuilder()
        try await store.list(list) { records in
            for record in records {
                if let full = page.add(record) { stream.sendPartial(full) }
            }
        }
        return page.finish()
    }

    func deleteThread(_ request: Request) async throws -> [UInt8] {
        let delete = try request.decode(CheckpointDeleteThreadRequest.self)
        try CheckpointValidation.identifier(delete.threadID, field: "thread_id", allowsEmpty: false)
        _ = try await store.delete(.thread(delete.threadID))
        return []
    }

    func deleteForRuns(_ request: Request) async throws -> [UInt8] {
        let delete = try request.decode(CheckpointDeleteForRunsRequest.self)
        try CheckpointValidation.count(delete.runIDs.count, field: "run_ids", max: CheckpointLimits.idsPerRequestMax)
        for runID in delete.runIDs { try CheckpointValidation.identifier(runID, field: "run_ids") }
        guard !delete.runIDs.isEmpty else { return CheckpointCountResponse(count: 0).encodedBody }
        return CheckpointCountResponse(count: try await store.delete(.runs(delete.runIDs))).encodedBody
    }

    func copyThread(_ request: Request) async throws -> [UInt8] {
        let copy = try request.decode(CheckpointCopyThreadRequest.self)
        try CheckpointValidation.identifier(copy.sourceThreadID, field: "source_thread_id", allowsEmpty: false)
        try CheckpointValidation.identifier(copy.targetThreadID, field: "target_thread_id", allowsEmpty: false)
        // Copying a thread onto itself changes nothing.
        if copy.sourceThreadID != copy.targetThreadID {
            try await store.copyThread(from: copy.sourceThreadID, to: copy.targetThreadID)
        }
        return []
    }

    func prune(_ request: Request) async throws -> [UInt8] {
        let prune = try request.decode(CheckpointPruneRequest.self)
        try CheckpointValidation.count(prune.threadIDs.count, field: "thread_ids", max: CheckpointLimits.idsPerRequestMax)
        for threadID in prune.threadIDs { try CheckpointValidation.identifier(threadID, field: "thread_ids", allowsEmpty: false) }
        guard !prune.threadIDs.isEmpty else { return CheckpointCountResponse(count: 0).encodedBody }
        let scope: CheckpointDeletion = switch prune.strategy {
        case .keepLatest: .allButLatest(threads: prune.threadIDs)
        case .delete: .threads(prune.threadIDs)
        }
        return CheckpointCountResponse(count: try await store.delete(scope)).encodedBody
    }
}

/// Collects LIST records into encoded pages.
private struct PageBuilder {
    private var writer = ByteWriter()
    private var count = 0

    init() { reset() }

    /// Adds a record; returns the previous page when adding it would overfill that page.
    mutating func add(_ record: CheckpointRecord) -> [UInt8]? {
        var full: [UInt8]?
        if count == CheckpointLimits.listPageRecordsMax
            || (count > 0 && writer.count + Self.estimatedBytes(record) > CheckpointLimits.listPageBytesTarget) {
            full = finish()
            reset()
        }
        record.write(into: &writer)
        count += 1
        return full
    }

    /// The page's body: its count patched into the list header.
    func finish() -> [UInt8] {
        var writer = writer
        writer.patchUInt32(UInt32(count), at: 0)
        return writer.bytes
    }

    private mutating func reset() {
        writer = ByteWriter()
        writer.writeUInt32(0)
        count = 0
    }

    private static func estimatedBytes(_ record: CheckpointRecord) -> Int {
        record.checkpoint.count + record.metadata.utf8.count
            + record.channelValues.reduce(0) { $0 + $1.value.count + 64 }
            + record.pendingWrites.reduce(0) { $0 + $1.value.count + 96 } + 128
    }
}
