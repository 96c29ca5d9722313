// Typed checkpoint operations (protocol-spec.md §7.1) over StoreClient's send and stream.
// The request and record types are the Codable wire messages from WireProtocol.
import Foundation
import WireProtocol

extension StoreClient {
    /// Saves a checkpoint. Idempotent: the same ids again replace the checkpoint row, and blobs
    /// already stored at their version are kept.
    public func putCheckpoint(_ request: CheckpointPutRequest, timeout: Duration? = nil) async throws(StoreClientError) {
        _ = try await send(opcode: .checkpointPut, body: request.encodedBody, timeout: timeout)
    }

    /// Stores a task's pending writes against a checkpoint. A batch of only special (negative)
    /// indexes replaces existing rows; any other batch keeps rows that already exist.
    public func putCheckpointWrites(_ request: CheckpointPutWritesRequest, timeout: Duration? = nil) async throws(StoreClientError) {
        _ = try await send(opcode: .checkpointPutWrites, body: request.encodedBody, timeout: timeout)
    }

    /// The checkpoint with `checkpointID`, or the newest of (thread, namespace) when it is nil;
    /// nil when there is none.
    public func checkpoint(threadID: String, namespace: String = "", checkpointID: String? = nil,
                           timeout: Duration? = nil) async throws(StoreClientError) -> CheckpointRecord? {
        let request = CheckpointGetRequest(threadID: threadID, namespace: namespace, checkpointID: checkpointID)
        let response = try await send(opcode: .checkpointGet, body: request.encodedBody, timeout: timeout)
        return try Self.decodeResponse(CheckpointGetResponse.self, response.body).record
    }

    /// Matching checkpoints newest first, page by page as the server streams them. Ending the
    /// iteration early cancels the request. The stream throws `StoreClientError`.
    public func checkpointPages(_ request: CheckpointListRequest = CheckpointListRequest(),
                                timeout: Duration? = nil) async throws(StoreClientError) -> AsyncThrowingStream<[CheckpointRecord], any Error> {
        let messages = try await stream(opcode: .checkpointList, body: request.encodedBody, timeout: timeout)
        let (pages, continuation) = AsyncThrowingStream.makeStream(of: [CheckpointRecord].self, throwing: (any Error).self)
        let pump = Task {
            do {
                for try await message in messages {
                    continuation.yield(try Self.decodeResponse(CheckpointRecordList.self, message.body).records)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in pump.cancel() }
        return pages
    }

    /// Every matching checkpoint, newest first, collected from the streamed pages.
    public func checkpoints(_ request: CheckpointListRequest = CheckpointListRequest(),
                            timeout: Duration? = nil) async throws(StoreClientError) -> [CheckpointRecord] {
        var records: [CheckpointRecord] = []
        do {
            for try await page in try await checkpointPages(request, timeout: timeout) { records += page }
        } catch let error as StoreClientError {
            throw error
        } catch {
            throw .protocolViolation("checkpoint list failed: \(error)")
        }
        return records
    }

    /// Deletes every checkpoint, blob and write of the thread, in every namespace.
    public func deleteCheckpointThread(_ threadID: String, timeout: Duration? = nil) async throws(StoreClientError) {
        _ = try await send(opcode: .checkpointDeleteThread,
                           body: CheckpointDeleteThreadRequest(threadID: threadID).encodedBody, timeout: timeout)
    }

    /// Deletes the checkpoints whose metadata `run_id` is in `runIDs`; returns how many.
    @discardableResult
    public func deleteCheckpoints(forRuns runIDs: [String], timeout: Duration? = nil) async throws(StoreClientError) -> UInt64 {
        let response = try await send(opcode: .checkpointDeleteForRuns,
                                      body: CheckpointDeleteForRunsRequest(runIDs: runIDs).encodedBody, timeout: timeout)
        return try Self.decodeResponse(CheckpointCountResponse.self, response.body).count
    }

    /// Copies everything of `source` to `target`; `source` is unchanged.
    public func copyCheckpointThread(from source: String, to target: String, timeout: Duration? = nil) async throws(StoreClientError) {
        _ = try await send(opcode: .checkpointCopyThread,
                           body: CheckpointCopyThreadRequest(sourceThreadID: source, targetThreadID: target).encodedBody,
                           timeout: timeout)
    }

    /// Prunes the threads' checkpoints by `strategy`; returns how many checkpoints were removed.
    @discardableResult
    public func pruneCheckpoints(threadIDs: [String], strategy: CheckpointPruneStrategy,
                                 timeout: Duration? = nil) async throws(StoreClientError) -> UInt64 {
        let response = try await send(opcode: .checkpointPrune,
                                      body: CheckpointPruneRequest(threadIDs: threadIDs, strategy: strategy).encodedBody,
                                      timeout: timeout)
        return try Self.decodeResponse(CheckpointCountResponse.self, response.body).count
    }

    /// A response body that does not decode means the server broke the protocol.
    private static func decodeResponse<M: WireMessage>(_ type: M.Type, _ body: [UInt8]) throws(StoreClientError) -> M {
        do {
            return try M.decode(body: body)
        } catch {
            throw .protocolViolation("undecodable \(M.self): \(error)")
        }
    }
}

extension CheckpointRecord {
    /// The metadata decoded as `T` (a Codable struct or `[String: String]`, say).
    public func decodedMetadata<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(metadata.utf8))
    }
}

extension CheckpointPutRequest {
    /// Sets the metadata from any Encodable value.
    public mutating func setMetadata<T: Encodable>(_ value: T) throws {
        metadata = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
