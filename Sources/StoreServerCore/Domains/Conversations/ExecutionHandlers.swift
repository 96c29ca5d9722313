// Handlers of the agent execution operations. Executions are not cached: they are written far
// more often than read, and the conversation record they belong to does not change with them.
import Foundation
import WireProtocol

struct ExecutionHandlers: Sendable {
    let store: any ExecutionStore

    func create(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(ExecutionCreateRequest.self)
        var normalized = message
        normalized.conversationID = try Validation.uuid(message.conversationID, field: "conversation_id")
        let id = try message.id.map { try Validation.uuid($0, field: "id") } ?? UUID().uuidString.lowercased()
        try Validation.identifier(message.agentName, field: "agent_name")
        try Validation.identifier(message.agentType, field: "agent_type")
        let input = try Validation.json(message.input, field: "input")
        let metadata = try Validation.json(message.metadata, field: "metadata")
        guard let record = try await store.createExecution(normalized, id: id, inputJSON: input, metadataJSON: metadata) else {
            throw RequestError(.notFound, "conversation \(normalized.conversationID) not found")
        }
        return record.encodedBody
    }

    func start(_ request: Request) async throws -> [UInt8] {
        let id = try Validation.uuid(try request.decode(IDRequest.self).id, field: "id")
        return try await store.transition(id: id, to: .running, outputJSON: nil, errorMessage: nil, tokensUsed: nil).encodedBody
    }

    func complete(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(ExecutionCompleteRequest.self)
        let id = try Validation.uuid(message.id, field: "id")
        let output = try Validation.json(message.output, field: "output")
        let tokens = try Self.tokens(message.tokensUsed)
        return try await store.transition(id: id, to: .completed, outputJSON: output, errorMessage: nil,
                                          tokensUsed: tokens).encodedBody
    }

    func fail(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(ExecutionFailRequest.self)
        let id = try Validation.uuid(message.id, field: "id")
        guard message.errorMessage.utf8.count <= ConversationLimits.errorMessageBytesMax,
              !message.errorMessage.unicodeScalars.contains("\0") else {
            throw RequestError.invalidArgument(field: "error_message",
                                               "at most \(ConversationLimits.errorMessageBytesMax) bytes, no U+0000")
        }
        let tokens = try Self.tokens(message.tokensUsed)
        return try await store.transition(id: id, to: .failed, outputJSON: nil, errorMessage: message.errorMessage,
                                          tokensUsed: tokens).encodedBody
    }

    func get(_ request: Request) async throws -> [UInt8] {
        let id = try Validation.uuid(try request.decode(IDRequest.self).id, field: "id")
        guard let record = try await store.execution(id: id) else {
            throw RequestError(.notFound, "execution \(id) not found")
        }
        return record.encodedBody
    }

    /// Streams the executions oldest first in pages of `listPageMax`; the final response holds
    /// the last page (possibly empty).
    func list(_ request: Request, _ stream: any ResponseStreaming) async throws -> [UInt8] {
        let conversationID = try Validation.uuid(try request.decode(IDRequest.self).id, field: "conversation_id")
        let pageSize = ConversationLimits.listPageMax
        guard var page = try await store.executions(conversationID: conversationID, after: nil, limit: pageSize) else {
            throw RequestError(.notFound, "conversation \(conversationID) not found")
        }
        while page.count == pageSize, let last = page.last {
            try Task.checkCancellation()
            let next = try await store.executions(conversationID: conversationID, after: last.1, limit: pageSize) ?? []
            if next.isEmpty { break }
            stream.sendPartial(ExecutionPage(executions: page.map(\.0)).encodedBody)
            page = next
        }
        return ExecutionPage(executions: page.map(\.0)).encodedBody
    }

    func totals(_ request: Request) async throws -> [UInt8] {
        let message = try request.decode(ExecutionTotalsRequest.self)
        let conversationID = try message.conversationID.map { try Validation.uuid($0, field: "conversation_id") }
        if let since = message.sinceMilliseconds, let until = message.untilMilliseconds, since > until {
            throw RequestError.invalidArgument(field: "until_ms", "before since_ms")
        }
        let agents = try await store.totals(sinceMilliseconds: message.sinceMilliseconds,
                                            untilMilliseconds: message.untilMilliseconds,
                                            conversationID: conversationID, limit: ConversationLimits.totalsAgentsMax)
        return ExecutionTotalsResponse(agents: agents).encodedBody
    }

    /// PostgreSQL's bigint holds what a client may report.
    private static func tokens(_ value: UInt64) throws(RequestError) -> UInt64 {
        guard value <= UInt64(Int64.max) else { throw .invalidArgument(field: "tokens_used", "over 2^63 - 1") }
        return value
    }
}
