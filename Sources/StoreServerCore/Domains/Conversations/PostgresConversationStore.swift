// Conversations and agent executions in PostgreSQL. Every value is a bound parameter. Times are
// stored at PostgreSQL's microsecond precision and carried on the wire as whole milliseconds
// (rounded down); lists order and page by the microseconds (then id), so rows created within
// one millisecond still come back in creation order.
import WireProtocol

struct PostgresConversationStore: ConversationStore, ExecutionStore {
    let pool: PostgresPool

    /// The server's clock for one statement.
    private static let now = "clock_timestamp()"
    private static func milliseconds(_ column: String) -> String {
        "floor(extract(epoch FROM \(column)) * 1000)::bigint"
    }
    private static func microseconds(_ column: String) -> String {
        "(extract(epoch FROM \(column)) * 1000000)::bigint"
    }
    private static func timestampMicroseconds(_ parameter: String) -> String {
        "(timestamptz 'epoch' + \(parameter)::bigint * interval '1 microsecond')"
    }
    private static func timestamp(_ parameter: String) -> String {
        "(timestamptz 'epoch' + \(parameter)::bigint * interval '1 millisecond')"
    }

    private static let conversationColumns = """
        id::text, title, user_id, \(milliseconds("created_at")), \(milliseconds("updated_at")), metadata::text,
        \(microseconds("created_at"))
        """
    private static let executionColumns = """
        id::text, conversation_id::text, agent_name, agent_type, status, input::text, output::text, error_message,
        \(milliseconds("created_at")), \(milliseconds("started_at")), \(milliseconds("completed_at")), duration_ms,
        tokens_used, metadata::text, \(microseconds("created_at"))
        """

    private enum Statements {
        static let create = PostgresStatement(name: "conversations_create", sql: """
            WITH clock AS (SELECT \(now) AS t)
            INSERT INTO conversations (id, title, user_id, created_at, updated_at, last_active_at, metadata)
            SELECT $1::uuid, $2, $3, t, t, t, $4::jsonb FROM clock
            RETURNING \(conversationColumns)
            """)
        static let get = PostgresStatement(name: "conversations_get", sql: """
            SELECT \(conversationColumns) FROM conversations WHERE id = $1::uuid
            """)
        static let update = PostgresStatement(name: "conversations_update", sql: """
            WITH clock AS (SELECT \(now) AS t)
            UPDATE conversations SET title = COALESCE($2, title), metadata = COALESCE($3::jsonb, metadata),
                updated_at = greatest(clock.t, updated_at), last_active_at = greatest(clock.t, last_active_at)
            FROM clock WHERE id = $1::uuid
            RETURNING \(conversationColumns)
            """)
        // The data-modifying CTE's effect is not visible to the rest of the statement, so the
        // count sees the executions that the cascade deletes.
        static let delete = PostgresStatement(name: "conversations_delete", sql: """
            WITH gone AS (DELETE FROM conversations WHERE id = $1::uuid RETURNING id)
            SELECT (SELECT count(*) FROM gone),
                   (SELECT count(*) FROM agent_executions WHERE conversation_id = $1::uuid)
            """)
        static let list = PostgresStatement(name: "conversations_list", sql: """
            SELECT \(conversationColumns) FROM conversations
            WHERE ($1::text IS NULL OR user_id = $1::text)
              AND ($2::bigint IS NULL OR (created_at, id) < (\(timestampMicroseconds("$2")), $3::uuid))
            ORDER BY created_at DESC, id DESC LIMIT $4::int
            """)
        static let recentlyActive = PostgresStatement(name: "conversations_recently_active", sql: """
            SELECT \(conversationColumns) FROM conversations ORDER BY last_active_at DESC LIMIT $1::int
            """)

        static let createExecution = PostgresStatement(name: "executions_create", sql: """
            WITH clock AS (SELECT \(now) AS t),
            touched AS (UPDATE conversations c SET last_active_at = greatest(clock.t, c.last_active_at)
                        FROM clock WHERE c.id = $1::uuid RETURNING c.id)
            INSERT INTO agent_executions (id, conversation_id, agent_name, agent_type, input, status,
                                          created_at, started_at, tokens_used, metadata)
            SELECT $2::uuid, touched.id, $3, $4, $5::jsonb, $6, clock.t,
                   CASE WHEN $6 = 'running' THEN clock.t END, 0, $7::jsonb
            FROM touched, clock
            RETURNING \(executionColumns)
            """)
        /// $2 the new status, $3 the status it must have now.
        static let transition = PostgresStatement(name: "executions_transition", sql: """
            WITH clock AS (SELECT \(now) AS t),
            changed AS (
                UPDATE agent_executions e SET status = $2,
                    started_at = CASE WHEN $2 = 'running' THEN clock.t ELSE e.started_at END,
                    completed_at = CASE WHEN $2 IN ('completed', 'failed') THEN clock.t ELSE e.completed_at END,
                    duration_ms = CASE WHEN $2 IN ('completed', 'failed')
                        THEN greatest(0, \(milliseconds("clock.t")) - \(milliseconds("e.started_at")))
                        ELSE e.duration_ms END,
                    output = COALESCE($4::jsonb, e.output),
                    error_message = COALESCE($5, e.error_message),
                    tokens_used = COALESCE($6::bigint, e.tokens_used)
                FROM clock WHERE e.id = $1::uuid AND e.status = $3
                RETURNING e.*),
            touched AS (UPDATE conversations c SET last_active_at = greatest(clock.t, c.last_active_at)
                        FROM changed, clock WHERE c.id = changed.conversation_id)
            SELECT \(executionColumns) FROM changed
            """)
        static let status = PostgresStatement(name: "executions_status", sql: """
            SELECT status FROM agent_executions WHERE id = $1::uuid
            """)
        static let getExecution = PostgresStatement(name: "executions_get", sql: """
            SELECT \(executionColumns) FROM agent_executions WHERE id = $1::uuid
            """)
        static let listExecutions = PostgresStatement(name: "executions_list", sql: """
            SELECT \(executionColumns) FROM agent_executions
            WHERE conversation_id = $1::uuid
              AND ($2::bigint IS NULL OR (created_at, id) > (\(timestampMicroseconds("$2")), $3::uuid))
            ORDER BY created_at, id LIMIT $4::int
            """)
        static let conversationExists = PostgresStatement(name: "conversations_exists", sql: """
            SELECT 1 FROM conversations WHERE id = $1::uuid
            """)
        static let totals = PostgresStatement(name: "executions_totals", sql: """
            SELECT agent_name, count(*), COALESCE(sum(tokens_used), 0)::bigint, COALESCE(sum(duration_ms), 0)::bigint
            FROM agent_executions
            WHERE ($1::bigint IS NULL OR created_at >= \(timestamp("$1")))
              AND ($2::bigint IS NULL OR created_at < \(timestamp("$2")))
              AND ($3::uuid IS NULL OR conversation_id = $3::uuid)
            GROUP BY agent_name ORDER BY agent_name COLLATE "C" LIMIT $4::int
            """)
    }

    // MARK: Conversations

    func createConversation(id: String, title: String, userID: String?, metadataJSON: String) async throws -> ConversationRecord {
        let rows = try await pool.execute(Statements.create, [.text(id), .text(title), userID.map(PostgresValue.text) ?? .null,
                                                              .text(metadataJSON)])
        return try Self.conversation(rows, row: 0)
    }

    func conversation(id: String) async throws -> ConversationRecord? {
        let rows = try await pool.execute(Statements.get, [.text(id)])
        return rows.isEmpty ? nil : try Self.conversation(rows, row: 0)
    }

    func updateConversation(id: String, title: String?, metadataJSON: String?) async throws -> ConversationRecord? {
        let rows = try await pool.execute(Statements.update, [.text(id), title.map(PostgresValue.text) ?? .null,
                                                              metadataJSON.map(PostgresValue.text) ?? .null])
        return rows.isEmpty ? nil : try Self.conversation(rows, row: 0)
    }

    func deleteConversation(id: String) async throws -> UInt64? {
        let rows = try await pool.execute(Statements.delete, [.text(id)])
        guard rows.int64(row: 0, column: 0) == 1 else { return nil }
        return UInt64(rows.int64(row: 0, column: 1) ?? 0)
    }

    func conversations(userID: String?, after cursor: ConversationCursor?, limit: Int) async throws -> [(ConversationRecord, ConversationCursor)] {
        let rows = try await pool.execute(Statements.list, [
            userID.map(PostgresValue.text) ?? .null,
            cursor.map { .integer($0.createdAtMicroseconds) } ?? .null,
            cursor.map { .text($0.id) } ?? .null,
            .integer(limit),
        ])
        return try (0..<rows.count).map { row in
            let record = try Self.conversation(rows, row: row)
            return (record, ConversationCursor(createdAtMicroseconds: rows.int64(row: row, column: 6) ?? 0, id: record.id))
        }
    }

    func recentlyActiveConversations(limit: Int) async throws -> [ConversationRecord] {
        let rows = try await pool.execute(Statements.recentlyActive, [.integer(limit)])
        return try (0..<rows.count).map { try Self.conversation(rows, row: $0) }
    }

    // MARK: Executions

    func createExecution(_ request: ExecutionCreateRequest, id: String, inputJSON: String, metadataJSON: String) async throws -> ExecutionRecord? {
        let status: ExecutionStatus = request.start ? .running : .pending
        let rows = try await pool.execute(Statements.createExecution, [
            .text(request.conversationID), .text(id), .text(request.agentName), .text(request.agentType),
            .text(inputJSON), .text(status.name), .text(metadataJSON),
        ])
        return rows.isEmpty ? nil : try Self.execution(rows, row: 0)
    }

    func transition(id: String, to status: ExecutionStatus, outputJSON: String?, errorMessage: String?,
                    tokensUsed: UInt64?) async throws -> ExecutionRecord {
        let required: ExecutionStatus = status == .running ? .pending : .running
        let rows = try await pool.execute(Statements.transition, [
            .text(id), .text(status.name), .text(required.name),
            outputJSON.map(PostgresValue.text) ?? .null, errorMessage.map(PostgresValue.text) ?? .null,
            tokensUsed.map { .integer($0) } ?? .null,
        ])
        if !rows.isEmpty { return try Self.execution(rows, row: 0) }
        // Nothing changed: tell a missing execution from one in the wrong state. A concurrent
        // change between the two statements only changes which state is reported.
        let current = try await pool.execute(Statements.status, [.text(id)])
        guard let name = current.isEmpty ? nil : current.string(row: 0, column: 0) else {
            throw BackendError.notFound(what: "execution \(id)")
        }
        throw BackendError.conflict(backend: "postgres",
                                    reason: "execution \(id) is \(name); cannot move to \(status.name)")
    }

    func execution(id: String) async throws -> ExecutionRecord? {
        let rows = try await pool.execute(Statements.getExecution, [.text(id)])
        return rows.isEmpty ? nil : try Self.execution(rows, row: 0)
    }

    func executions(conversationID: String, after cursor: ExecutionCursor?, limit: Int) async throws -> [(ExecutionRecord, ExecutionCursor)]? {
        let rows = try await pool.execute(Statements.listExecutions, [
            .text(conversationID),
            cursor.map { .integer($0.createdAtMicroseconds) } ?? .null,
            cursor.map { .text($0.id) } ?? .null,
            .integer(limit),
        ])
        if rows.isEmpty, cursor == nil {
            let exists = try await pool.execute(Statements.conversationExists, [.text(conversationID)])
            if exists.isEmpty { return nil }
        }
        return try (0..<rows.count).map { row in
            let record = try Self.execution(rows, row: row)
            return (record, ExecutionCursor(createdAtMicroseconds: rows.int64(row: row, column: 14) ?? 0, id: record.id))
        }
    }

    func totals(sinceMilliseconds: Int64?, untilMilliseconds: Int64?, conversationID: String?, limit: Int) async throws -> [AgentTotals] {
        let rows = try await pool.execute(Statements.totals, [
            sinceMilliseconds.map { .integer($0) } ?? .null,
            untilMilliseconds.map { .integer($0) } ?? .null,
            conversationID.map(PostgresValue.text) ?? .null,
            .integer(limit),
        ])
        return (0..<rows.count).map { row in
            AgentTotals(agentName: rows.string(row: row, column: 0) ?? "",
                        executions: UInt64(rows.int64(row: row, column: 1) ?? 0),
                        tokensUsed: UInt64(rows.int64(row: row, column: 2) ?? 0),
                        durationMilliseconds: UInt64(max(0, rows.int64(row: row, column: 3) ?? 0)))
        }
    }

    // MARK: Rows

    private struct MalformedRow: Error, CustomStringConvertible {
        let description: String
    }

    private static func conversation(_ rows: PostgresRows, row: Int) throws -> ConversationRecord {
        guard let id = rows.string(row: row, column: 0), let title = rows.string(row: row, column: 1),
              let created = rows.int64(row: row, column: 3), let updated = rows.int64(row: row, column: 4),
              let metadata = rows.string(row: row, column: 5) else {
            throw MalformedRow(description: "conversation row with missing columns")
        }
        return ConversationRecord(id: id, title: title, userID: rows.string(row: row, column: 2),
                                  createdAtMilliseconds: created, updatedAtMilliseconds: updated,
                                  metadata: try ConversationJSON.decodeMap(metadata))
    }

    private static func execution(_ rows: PostgresRows, row: Int) throws -> ExecutionRecord {
        guard let id = rows.string(row: row, column: 0), let conversationID = rows.string(row: row, column: 1),
              let agentName = rows.string(row: row, column: 2), let agentType = rows.string(row: row, column: 3),
              let statusName = rows.string(row: row, column: 4), let status = ExecutionStatus(name: statusName),
              let input = rows.string(row: row, column: 5), let created = rows.int64(row: row, column: 8),
              let metadata = rows.string(row: row, column: 13) else {
            throw MalformedRow(description: "execution row with missing columns")
        }
        return ExecutionRecord(
            id: id, conversationID: conversationID, agentName: agentName, agentType: agentType, status: status,
            input: try ConversationJSON.decode(input),
            output: try rows.string(row: row, column: 6).map(ConversationJSON.decode) ?? .null,
            errorMessage: rows.string(row: row, column: 7), createdAtMilliseconds: created,
            startedAtMilliseconds: rows.int64(row: row, column: 9),
            completedAtMilliseconds: rows.int64(row: row, column: 10),
            durationMilliseconds: rows.int64(row: row, column: 11),
            tokensUsed: UInt64(max(0, rows.int64(row: row, column: 12) ?? 0)),
            metadata: try ConversationJSON.decodeMap(metadata))
    }
}
