// What the checkpoint handlers need from storage, with LangGraph's semantics (see
// protocol-spec.md §7.1). The PostgreSQL implementation is PostgresCheckpointStore.
import WireProtocol

public protocol CheckpointStore: Sendable {
    /// Upserts the checkpoint row and inserts the blobs that are not stored yet. With
    /// `expectedLatestCheckpointID` set, first checks atomically that the newest checkpoint of
    /// (thread, namespace) is that id ("" = none) or the one being put, else throws
    /// `BackendError.conflict` and writes nothing.
    func put(_ request: CheckpointPutRequest) async throws
    /// Stores pending writes: a batch of only special (negative) indexes replaces existing rows,
    /// any other batch keeps them.
    func putWrites(_ request: CheckpointPutWritesRequest) async throws
    /// One checkpoint with its channel values and pending writes; the newest of (thread,
    /// namespace) when `checkpointID` is nil; nil when there is none.
    func checkpoint(_ request: CheckpointGetRequest) async throws -> CheckpointRecord?
    /// Matching checkpoints newest first (checkpoint id descending, then thread and namespace
    /// ascending), handed to `deliver` in batches of
    /// `CheckpointLimits.listFetchRowsFirst` growing to `listFetchRowsMax` rows.
    func list(_ request: CheckpointListRequest, deliver: ([CheckpointRecord]) async throws -> Void) async throws
    /// Removes checkpoints (and their writes and unreferenced blobs) and returns how many.
    func delete(_ scope: CheckpointDeletion) async throws -> UInt64
    /// Copies every checkpoint, blob and write of `source` to `target`; `source` is unchanged.
    func copyThread(from source: String, to target: String) async throws
}

/// Which checkpoints a deletion removes.
public enum CheckpointDeletion: Sendable, Hashable {
    /// Everything of one thread, every namespace.
    case thread(String)
    /// Checkpoints whose metadata `run_id` is one of these.
    case runs([String])
    /// All but the newest checkpoint of each (thread, namespace) of these threads.
    case allButLatest(threads: [String])
    /// Everything of these threads.
    case threads([String])
}
