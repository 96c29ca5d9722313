// What the conversation handlers need from storage, shaped by the operations. The PostgreSQL
// implementation is PostgresConversationStore; errors are BackendError (not_found as nil or
// `.notFound`, illegal transitions as `.conflict`).
import WireProtocol

protocol ConversationStore: Sendable {
    func createConversation(id: String, title: String, userID: String?, metadataJSON: String) async throws -> ConversationRecord
    func conversation(id: String) async throws -> ConversationRecord?
    /// Nil fields stay as they are. Returns nil when the conversation does not exist.
    func updateConversation(id: String, title: String?, metadataJSON: String?) async throws -> ConversationRecord?
    /// Returns the number of executions deleted with it, nil when it did not exist.
    func deleteConversation(id: String) async throws -> UInt64?
    /// Newest first, after `cursor` (exclusive), at most `limit`.
    func conversations(userID: String?, after cursor: ConversationCursor?, limit: Int) async throws -> [(ConversationRecord, ConversationCursor)]
    /// The most recently active conversations (created, updated or with execution activity).
    func recentlyActiveConversations(limit: Int) async throws -> [ConversationRecord]
}

protocol ExecutionStore: Sendable {
    /// Nil when the conversation does not exist.
    func createExecution(_ request: ExecutionCreateRequest, id: String, inputJSON: String, metadataJSON: String) async throws -> ExecutionRecord?
    /// Moves an execution along its lifecycle. Throws `.notFound` when it does not exist and
    /// `.conflict` when its current status does not allow the move.
    func transition(id: String, to status: ExecutionStatus, outputJSON: String?, errorMessage: String?,
                    tokensUsed: UInt64?) async throws -> ExecutionRecord
    func execution(id: String) async throws -> ExecutionRecord?
    /// Oldest first, after `cursor` (exclusive); nil when the conversation does not exist.
    func executions(conversationID: String, after cursor: ExecutionCursor?, limit: Int) async throws -> [(ExecutionRecord, ExecutionCursor)]?
    func totals(sinceMilliseconds: Int64?, untilMilliseconds: Int64?, conversationID: String?, limit: Int) async throws -> [AgentTotals]
}

/// A position in the newest-first list of conversations: creation time at PostgreSQL's precision
/// (microseconds since the epoch) and id.
struct ConversationCursor: Sendable, Equatable {
    var createdAtMicroseconds: Int64
    var id: String
}

/// A position in the oldest-first list of a conversation's executions.
struct ExecutionCursor: Sendable, Equatable {
    var createdAtMicroseconds: Int64
    var id: String
}
