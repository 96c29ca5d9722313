// CheckpointStore over PostgreSQL. Checkpoint rows hold the opaque document, jsonb metadata and
// the channel_versions map; channel values live once per (thread, namespace, channel, version)
// in checkpoint_blobs; pending writes in checkpoint_writes. Reads fetch a checkpoint with all its
// blobs and writes in one row (array_agg, decoded by PostgresArray), so GET is one round trip.
// Every value is a bound parameter.
import WireProtocol

public struct PostgresCheckpointStore: CheckpointStore {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Writes

    public func put(_ request: CheckpointPutRequest) async throws {
        if let expected = request.expectedLatestCheckpointID {
            return try await put(request, expectingLatest: expected)
        }
        // One transaction in one round trip: the blobs and the row commit together, under the
        // thread's shared lock so that a concurrent blob clean-up (PRUNE, DELETE_FOR_RUNS)
        // either sees this checkpoint or runs before it.
        var statements = [PostgresBatchStatement("BEGIN"),
                          PostgresBatchStatement(SQL.lockThreadShared, [.text(request.threadID)])]
        statements += Self.writeStatements(request)
        statements.append(PostgresBatchStatement("COMMIT"))
        try await runPipeline(statements)
    }

    /// PUT with fork protection: the thread's lock is taken exclusively, so no other put of the
    /// thread (conditional or not) can commit between reading the newest checkpoint id and
    /// writing; READ COMMITTED gives the SELECT after the lock a snapshot that includes every
    /// put that committed before it. A mismatch writes nothing (no blobs either). Costs a few
    /// round trips more than the plain put, which is why it is opt-in.
    private func put(_ request: CheckpointPutRequest, expectingLatest expected: String) async throws {
        try await pool.withConnection { connection in
            try await connection.transaction { connection in
                _ = try await connection.query(SQL.lockThreadExclusive, [.text(request.threadID)])
                let latestRows = try await connection.query(SQL.latestID, [.text(request.threadID), .text(request.namespace)])
                let latest = latestRows.count > 0 ? latestRows.string(row: 0, column: 0) ?? "" : ""
                // Equal to the id being put: this put already committed and is being retried.
                guard latest == expected || latest == request.checkpointID else {
                    throw BackendError.conflict(
                        backend: "postgresql",
                        reason: "another writer advanced the thread: the newest checkpoint of thread '\(request.threadID)' "
                            + "namespace '\(request.namespace)' is '\(latest)', expected '\(expected)'")
                }
                for outcome in try await connection.pipeline(Self.writeStatements(request)) {
                    if case let .failure(error) = outcome { throw Self.translated(error) }
                }
            }
        }
    }

    /// The blob inserts and the checkpoint upsert of a put, without transaction control.
    private static func writeStatements(_ request: CheckpointPutRequest) -> [PostgresBatchStatement] {
        let versions = CheckpointJSON.object(request.channelVersions.map { ($0.channel, $0.version) })
        var statements = request.blobs.map { blob in
            PostgresBatchStatement(SQL.insertBlob, [.text(request.threadID), .text(request.namespace), .text(blob.channel),
                                                    .text(blob.version), .text(blob.type), .bytes(blob.value)])
        }
        statements.append(PostgresBatchStatement(SQL.upsertCheckpoint, [
            .text(request.threadID), .text(request.namespace), .text(request.checkpointID),
            request.parentCheckpointID.map(PostgresValue.text) ?? .null, .text(request.checkpointType),
            .bytes(request.checkpoint), .text(request.metadata), .text(versions),
        ]))
        return statements
    }

    public func putWrites(_ request: CheckpointPutWritesRequest) async throws {
        guard !request.writes.isEmpty else { return }
        let sql = request.replacesExisting ? SQL.upsertWrite : SQL.insertWriteIfAbsent
        let statements = request.writes.map { write in
            PostgresBatchStatement(sql, [.text(request.threadID), .text(request.namespace), .text(request.checkpointID),
                                         .text(request.taskID), .text(request.taskPath), .integer(write.index),
                                         .text(write.channel), .text(write.type), .bytes(write.value)])
        }
        try await runPipeline(statements)
    }

    /// Sends the statements in one pipeline and throws the first failure. A COMMIT that
    /// answers ROLLBACK (an earlier statement failed) without an earlier error is a failure too.
    private func runPipeline(_ statements: [PostgresBatchStatement]) async throws {
        let outcomes = try await pool.withConnection { try await $0.pipeline(statements) }
        for outcome in outcomes {
            if case let .failure(error) = outcome { throw Self.translated(error) }
        }
        if case .success(let rows) = outcomes.last, rows.commandTag == "ROLLBACK" {
            throw BackendError.rejected(backend: "postgresql", reason: "checkpoint transaction was rolled back")
        }
    }

    /// Deletes the blobs of `threads` (a JSON array) that no checkpoint names, holding each
    /// thread's lock exclusively so no PUT of those threads is half way through.
    private func deleteUnreferencedBlobs(threads: String) async throws {
        try await pool.transaction { connection in
            _ = try await connection.query(SQL.lockThreadsExclusive, [.text(threads)])
            _ = try await connection.query(SQL.deleteUnreferencedBlobs, [.text(threads)])
        }
    }

    // MARK: Reads

    public func checkpoint(_ request: CheckpointGetRequest) async throws -> CheckpointRecord? {
        let rows: PostgresRows
        if let checkpointID = request.checkpointID {
            rows = try await execute(SQL.getByID, [.text(request.threadID), .text(request.namespace), .text(checkpointID)])
        } else {
            rows = try await execute(SQL.getLatest, [.text(request.threadID), .text(request.namespace)])
        }
        return try Self.records(from: rows).first
    }

    public func list(_ request: CheckpointListRequest, deliver: ([CheckpointRecord]) async throws -> Void) async throws {
        var remaining = request.limit.map(Int.init) ?? Int.max
        var cursor: (checkpointID: String, threadID: String, namespace: String)?
        var fetchRows = CheckpointLimits.listFetchRowsFirst
        while remaining > 0 {
            try Task.checkCancellation()
            let batch = min(remaining, fetchRows)
            var query = ListQuery()
            if let threadID = request.threadID { query.add("c.thread_id = ", .text(threadID)) }
            if let namespace = request.namespace { query.add("c.checkpoint_ns = ", .text(namespace)) }
            if let checkpointID = request.checkpointID { query.add("c.checkpoint_id = ", .text(checkpointID)) }
            if let filter = request.filter { query.add("c.metadata @> ", .text(filter), cast: "::jsonb") }
            if let before = request.before { query.add("c.checkpoint_id < ", .text(before)) }
            if let cursor {
                let id = query.parameter(.text(cursor.checkpointID))
                let thread = query.parameter(.text(cursor.threadID))
                let namespace = query.parameter(.text(cursor.namespace))
                query.conditions.append("(c.checkpoint_id < \(id) OR (c.checkpoint_id = \(id) AND (c.thread_id, c.checkpoint_ns) > (\(thread), \(namespace))))")
            }
            let limit = query.parameter(.integer(batch))
            let selection = "SELECT * FROM checkpoints c"
                + (query.conditions.isEmpty ? "" : " WHERE " + query.conditions.joined(separator: " AND "))
                + " \(SQL.listOrder) LIMIT \(limit)"
            let sql = SQL.records(selection, orderBy: SQL.listOrder)
            let rows: PostgresRows
            do {
                rows = try await pool.query(sql, query.parameters, resultFormat: .binary)
            } catch let error as BackendError {
                throw Self.translated(error, field: "filter")
            }
            let records = try Self.records(from: rows)
            if records.isEmpty { return }
            try await deliver(records)
            remaining -= records.count
            let batchBytes = records.reduce(0) { $0 + Self.approximateBytes(of: $1) }
            if batchBytes < CheckpointLimits.listFetchGrowthBytesMax {
                fetchRows = min(fetchRows * 2, CheckpointLimits.listFetchRowsMax)
            }
            if records.count < batch { return }
            let last = records[records.count - 1]
            cursor = (last.checkpointID, last.threadID, last.namespace)
        }
    }

    private func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue]) async throws -> PostgresRows {
        try await pool.execute(statement, parameters, resultFormat: .binary)
    }

    /// Numbered parameters and the conditions that use them, for the LIST query.
    private struct ListQuery {
        var conditions: [String] = []
        var parameters: [PostgresValue] = []

        mutating func parameter(_ value: PostgresValue, cast: String = "") -> String {
            parameters.append(value)
            return "$\(parameters.count)\(cast)"
        }

        mutating func add(_ prefix: String, _ value: PostgresValue, cast: String = "") {
            conditions.append(prefix + parameter(value, cast: cast))
        }
    }

    // MARK: Deletion and copying

    public func delete(_ scope: CheckpointDeletion) async throws -> UInt64 {
        switch scope {
        case .thread(let threadID):
            let rows = try await pool.query(SQL.deleteThreads, [.text(CheckpointJSON.array([threadID]))])
            return UInt64(rows.int64(row: 0, column: 0) ?? 0)
        case .threads(let threadIDs):
            let rows = try await pool.query(SQL.deleteThreads, [.text(CheckpointJSON.array(threadIDs))])
            return UInt64(rows.int64(row: 0, column: 0) ?? 0)
        case .runs(let runIDs):
            let rows = try await pool.query(SQL.deleteRuns, [.text(CheckpointJSON.array(runIDs))])
            let count = UInt64(rows.int64(row: 0, column: 0) ?? 0)
            if count > 0, let threads = rows.string(row: 0, column: 1) {
                try await deleteUnreferencedBlobs(threads: threads)
            }
            return count
        case .allButLatest(let threadIDs):
            let threads = CheckpointJSON.array(threadIDs)
            let rows = try await pool.query(SQL.deleteAllButLatest, [.text(threads)])
            let count = UInt64(rows.int64(row: 0, column: 0) ?? 0)
            if count > 0 { try await deleteUnreferencedBlobs(threads: threads) }
            return count
        }
    }

    public func copyThread(from source: String, to target: String) async throws {
        _ = try await pool.query(SQL.copyThread, [.text(source), .text(target)])
    }

    // MARK: Rows to records

    /// Columns of `SQL.records`, in order.
    private enum Column: Int {
        case threadID, namespace, checkpointID, parentID, checkpointType, checkpoint, metadata
        case blobChannels, blobVersions, blobTypes, blobValues
        case writeTaskIDs, writeTaskPaths, writeIndexes, writeChannels, writeTypes, writeValues
    }

    static func records(from rows: PostgresRows) throws -> [CheckpointRecord] {
        var records: [CheckpointRecord] = []
        records.reserveCapacity(rows.count)
        for row in 0..<rows.count {
            func cell(_ column: Column) -> [UInt8]? { rows.bytes(row: row, column: column.rawValue) }
            func text(_ column: Column) -> String { String(decoding: cell(column) ?? [], as: UTF8.self) }
            let channels = try PostgresArray.strings(cell(.blobChannels))
            let versions = try PostgresArray.strings(cell(.blobVersions))
            let types = try PostgresArray.strings(cell(.blobTypes))
            let values = try PostgresArray.bytes(cell(.blobValues))
            let taskIDs = try PostgresArray.strings(cell(.writeTaskIDs))
            let taskPaths = try PostgresArray.strings(cell(.writeTaskPaths))
            let indexes = try PostgresArray.int32s(cell(.writeIndexes))
            let writeChannels = try PostgresArray.strings(cell(.writeChannels))
            let writeTypes = try PostgresArray.strings(cell(.writeTypes))
            let writeValues = try PostgresArray.bytes(cell(.writeValues))
            guard versions.count == channels.count, types.count == channels.count, values.count == channels.count,
                  taskPaths.count == taskIDs.count, indexes.count == taskIDs.count, writeChannels.count == taskIDs.count,
                  writeTypes.count == taskIDs.count, writeValues.count == taskIDs.count else {
                throw PostgresArray.Malformed(description: "aggregated arrays of one record differ in length")
            }
            records.append(CheckpointRecord(
                threadID: text(.threadID), namespace: text(.namespace), checkpointID: text(.checkpointID),
                parentCheckpointID: cell(.parentID).map { String(decoding: $0, as: UTF8.self) },
                checkpointType: text(.checkpointType), checkpoint: cell(.checkpoint) ?? [], metadata: text(.metadata),
                channelValues: channels.indices.map {
                    CheckpointBlob(channel: channels[$0], version: versions[$0], type: types[$0], value: values[$0])
                },
                pendingWrites: taskIDs.indices.map {
                    CheckpointPendingWrite(taskID: taskIDs[$0], taskPath: taskPaths[$0], index: indexes[$0],
                                           channel: writeChannels[$0], type: writeTypes[$0], value: writeValues[$0])
                }))
        }
        return records
    }

    /// The values' bytes of a record, for sizing LIST batches.
    static func approximateBytes(of record: CheckpointRecord) -> Int {
        record.checkpoint.count + record.metadata.utf8.count
            + record.channelValues.reduce(0) { $0 + $1.value.count } + record.pendingWrites.reduce(0) { $0 + $1.value.count }
    }

    /// Data exceptions (SQLSTATE class 22: bad JSON, NUL characters) come from what the client
    /// sent, so they are the client's invalid_argument, not an internal error.
    static func translated(_ error: BackendError, field: String = "metadata") -> BackendError {
        if case let .rejected(_, reason) = error, reason.hasPrefix("22") {
            return .invalidArgument(field: field, reason: reason)
        }
        return error
    }
}

/// The statements, kept together so the schema and the queries can be read side by side.
private enum SQL {
    /// Advisory locks of this domain use the two-key form with this first key, apart from the
    /// migrator's single-key lock; the second key is the thread id's hash.
    private static let lockSpace = 0x0101

    /// Taken by PUT for its thread, shared: puts of one thread do not wait for each other.
    static let lockThreadShared = "SELECT pg_advisory_xact_lock_shared(\(lockSpace), hashtext($1))"

    /// Taken by a PUT with expected_latest for its thread, exclusive: it waits for the puts in
    /// flight and holds off new ones until it has compared and written.
    static let lockThreadExclusive = "SELECT pg_advisory_xact_lock(\(lockSpace), hashtext($1))"

    /// The newest checkpoint id of (thread $1, namespace $2), as GET without an id picks it.
    static let latestID = """
        SELECT checkpoint_id FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2
        ORDER BY checkpoint_id DESC LIMIT 1
        """

    /// Taken by blob clean-up for every thread of the JSON array $1, in hash order so that two
    /// clean-ups cannot deadlock.
    static let lockThreadsExclusive = """
        SELECT pg_advisory_xact_lock(\(lockSpace), key)
        FROM (SELECT DISTINCT hashtext(thread_id) AS key FROM jsonb_array_elements_text($1::jsonb) AS t(thread_id) ORDER BY 1) keys
        """

    static let insertBlob = """
        INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
        VALUES ($1, $2, $3, $4, $5, $6::bytea) ON CONFLICT DO NOTHING
        """

    static let upsertCheckpoint = """
        INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type,
                                 checkpoint, metadata, channel_versions)
        VALUES ($1, $2, $3, $4, $5, $6::bytea, $7::jsonb, $8::jsonb)
        ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
            parent_checkpoint_id = excluded.parent_checkpoint_id, checkpoint_type = excluded.checkpoint_type,
            checkpoint = excluded.checkpoint, metadata = excluded.metadata, channel_versions = excluded.channel_versions
        """

    private static let insertWrite = """
        INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
        VALUES ($1, $2, $3, $4, $5, $6::integer, $7, $8, $9::bytea)
        ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
        """
    static let upsertWrite = insertWrite + """
         DO UPDATE SET task_path = excluded.task_path, channel = excluded.channel, type = excluded.type, blob = excluded.blob
        """
    static let insertWriteIfAbsent = insertWrite + " DO NOTHING"

    /// The checkpoints chosen by `selection` (a query over `checkpoints` that keeps its column
    /// names, with its own WHERE, ORDER BY and LIMIT), each with its blobs (ordered by channel)
    /// and pending writes (ordered by task_path, task_id, idx) aggregated into arrays. The rows
    /// are chosen first so the aggregation runs only for the rows returned, not for every
    /// checkpoint of the thread.
    static func records(_ selection: String, orderBy: String = "") -> String {
        """
        SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint_type, c.checkpoint,
               c.metadata::text,
               blobs.channels, blobs.versions, blobs.types, blobs.blob_values,
               writes.task_ids, writes.task_paths, writes.idxs, writes.channels, writes.types, writes.blob_values
        FROM (\(selection)) c
        LEFT JOIN LATERAL (
            SELECT array_agg(b.channel ORDER BY b.channel) AS channels, array_agg(b.version ORDER BY b.channel) AS versions,
                   array_agg(b.type ORDER BY b.channel) AS types, array_agg(b.blob ORDER BY b.channel) AS blob_values
            FROM jsonb_each_text(c.channel_versions) AS v(channel, version)
            JOIN checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                                   AND b.channel = v.channel AND b.version = v.version
        ) blobs ON true
        LEFT JOIN LATERAL (
            SELECT array_agg(w.task_id ORDER BY w.task_path, w.task_id, w.idx) AS task_ids,
                   array_agg(w.task_path ORDER BY w.task_path, w.task_id, w.idx) AS task_paths,
                   array_agg(w.idx ORDER BY w.task_path, w.task_id, w.idx) AS idxs,
                   array_agg(w.channel ORDER BY w.task_path, w.task_id, w.idx) AS channels,
                   array_agg(w.type ORDER BY w.task_path, w.task_id, w.idx) AS types,
                   array_agg(w.blob ORDER BY w.task_path, w.task_id, w.idx) AS blob_values
            FROM checkpoint_writes w
            WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id
        ) writes ON true
        \(orderBy)
        """
    }

    /// LIST's order: newest first, ties by thread and namespace.
    static let listOrder = "ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns"

    static let getByID = PostgresStatement(name: "checkpoint_get_by_id", sql: records("""
        SELECT * FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3
        """))

    static let getLatest = PostgresStatement(name: "checkpoint_get_latest", sql: records("""
        SELECT * FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2 ORDER BY checkpoint_id DESC LIMIT 1
        """))

    /// Everything of the threads in the JSON array $1; answers the number of checkpoints.
    static let deleteThreads = """
        WITH threads AS (SELECT jsonb_array_elements_text($1::jsonb) AS thread_id),
        deleted_writes AS (DELETE FROM checkpoint_writes WHERE thread_id IN (SELECT thread_id FROM threads)),
        deleted_blobs AS (DELETE FROM checkpoint_blobs WHERE thread_id IN (SELECT thread_id FROM threads)),
        deleted AS (DELETE FROM checkpoints WHERE thread_id IN (SELECT thread_id FROM threads) RETURNING 1)
        SELECT count(*) FROM deleted
        """

    /// Checkpoints whose metadata run_id is in the JSON array $1, with their writes; answers the
    /// count and the JSON array of affected threads (for the blob clean-up that follows).
    static let deleteRuns = """
        WITH doomed AS (
            SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints
            WHERE metadata ->> 'run_id' IN (SELECT jsonb_array_elements_text($1::jsonb))),
        deleted_writes AS (
            DELETE FROM checkpoint_writes w USING doomed d
            WHERE w.thread_id = d.thread_id AND w.checkpoint_ns = d.checkpoint_ns AND w.checkpoint_id = d.checkpoint_id),
        deleted AS (
            DELETE FROM checkpoints c USING doomed d
            WHERE c.thread_id = d.thread_id AND c.checkpoint_ns = d.checkpoint_ns AND c.checkpoint_id = d.checkpoint_id
            RETURNING c.thread_id)
        SELECT count(*), coalesce(jsonb_agg(DISTINCT thread_id), '[]'::jsonb)::text FROM deleted
        """

    /// All but the newest checkpoint of each (thread, namespace) of the threads in $1.
    static let deleteAllButLatest = """
        WITH doomed AS (
            SELECT thread_id, checkpoint_ns, checkpoint_id FROM (
                SELECT thread_id, checkpoint_ns, checkpoint_id,
                       row_number() OVER (PARTITION BY thread_id, checkpoint_ns ORDER BY checkpoint_id DESC) AS rank
                FROM checkpoints WHERE thread_id IN (SELECT jsonb_array_elements_text($1::jsonb))) ranked
            WHERE rank > 1),
        deleted_writes AS (
            DELETE FROM checkpoint_writes w USING doomed d
            WHERE w.thread_id = d.thread_id AND w.checkpoint_ns = d.checkpoint_ns AND w.checkpoint_id = d.checkpoint_id),
        deleted AS (
            DELETE FROM checkpoints c USING doomed d
            WHERE c.thread_id = d.thread_id AND c.checkpoint_ns = d.checkpoint_ns AND c.checkpoint_id = d.checkpoint_id
            RETURNING 1)
        SELECT count(*) FROM deleted
        """

    /// Blobs of the threads in $1 that no remaining checkpoint names.
    static let deleteUnreferencedBlobs = """
        DELETE FROM checkpoint_blobs b
        WHERE b.thread_id IN (SELECT jsonb_array_elements_text($1::jsonb))
          AND NOT EXISTS (SELECT 1 FROM checkpoints c
                          WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                            AND c.channel_versions ->> b.channel = b.version)
        """

    /// Copies thread $1 to thread $2: blobs and writes insert-or-ignore, checkpoints upsert.
    static let copyThread = """
        WITH copied_blobs AS (
            INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
            SELECT $2, checkpoint_ns, channel, version, type, blob FROM checkpoint_blobs WHERE thread_id = $1
            ON CONFLICT DO NOTHING),
        copied_writes AS (
            INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
            SELECT $2, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob
            FROM checkpoint_writes WHERE thread_id = $1
            ON CONFLICT DO NOTHING)
        INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type,
                                 checkpoint, metadata, channel_versions)
        SELECT $2, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata, channel_versions
        FROM checkpoints WHERE thread_id = $1
        ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
            parent_checkpoint_id = excluded.parent_checkpoint_id, checkpoint_type = excluded.checkpoint_type,
            checkpoint = excluded.checkpoint, metadata = excluded.metadata, channel_versions = excluded.channel_versions
        """
}
