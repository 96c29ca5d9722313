// Handlers of the conversation operations: validate the request, call the store, keep the
// conversation cache coherent (invalidate after every committed write, before answering).
import Foundation
import WireProtocol

struct ConversationHandlers: Sendable {
    let store: any ConversationStore
    let cache: ConversationCache
    let refresher: HotConversationRefresher

    func create(_ request: Request) async throws -> [UInt8] {
        refresher.startIfNeeded()
        let message = try request.decode(ConversationCreateRequest.self)
        let id = try message.id.map { try Validation.uuid($0, field: "id") } ?? UUID().uuidString.lowercased()
        let title = try Validation.title(message.title ?? ConversationLimits.defaultTitle)
        if let userID = message.userID { try Validation.identifier(userID, field: "user_id") }
        let metadata = try Validation.json(message.metadata, field: "metadata")
        let record = try await store.createConversation(id: id, title: title, userID: message.userID, metadataJSON: metadata)
        // A read that missed before the create cannot have cached anything (there was no row),
        // but a delete-then-create with the same id could leave the old entry: invalidate.
        await cache.invalidate(id: id)
        return record.encodedBody
    }

    func get(_ request: Request) async throws -> [UInt8] {
        refresher.startIfNeeded()
        let id = try Validation.uuid(try request.decode(IDRequest.self).id, field: "id")
        guard let record = try await cache.read(id: id, load: { try await store.conversation(id: id) }) else {
            throw RequestError(.notFound, "conversation \(id) not found")
        }
        return record.encodedBody
    }

    func update(_ request: Request) async throws -> [UInt8] {
        refresher.startIfNeeded()
        let message = try request.decode(ConversationUpdateRequest.self)
        let id = try Validation.uuid(message.id, field: "id")
        let title = try message.title.map(Validation.title)
        let metadata = try message.metadata.map { try Validation.json($0, field: "metadata") }
        let record = try await store.updateConversation(id: id, title: title, metadataJSON: metadata)
        await cache.invalidate(id: id)
        guard let record else { throw RequestError(.notFound, "conversation \(id) not found") }
        return record.encodedBody
    }

    func delete(_ request: Request) async throws -> [UInt8] {
        refresher.startIfNeeded()
        let id = try Validation.uuid(try request.decode(IDRequest.self).id, field: "id")
        let executions = try await store.deleteConversation(id: id)
        await cache.invalidate(id: id)
        guard let executions else { throw RequestError(.notFound, "conversation \(id) not found") }
        return ConversationDeleteResponse(executionsDeleted: executions).encodedBody
    }

    func list(_ request: Request) async throws -> [UInt8] {
        refresher.startIfNeeded()
        let message = try request.decode(ConversationListRequest.self)
        if let userID = message.userID { try Validation.identifier(userID, field: "user_id") }
        guard message.limit <= ConversationLimits.listPageMax else {
            throw RequestError.invalidArgument(field: "limit", "at most \(ConversationLimits.listPageMax), got \(message.limit)")
        }
        let limit = message.limit == 0 ? ConversationLimits.listPageDefault : Int(message.limit)
        let cursor = try message.continuation.map(ContinuationToken.decodeConversationCursor)
        // One more than asked tells whether another page follows.
        var rows = try await store.conversations(userID: message.userID, after: cursor, limit: limit + 1)
        var continuation: [UInt8]?
        if rows.count > limit {
            rows.removeLast(rows.count - limit)
            continuation = rows.last.map { ContinuationToken.encode($0.1) }
        }
        return ConversationListResponse(conversations: rows.map(\.0), continuation: continuation).encodedBody
    }
}

/// The opaque continuation token of CONVERSATION_LIST: a format byte, the last row's creation
/// time (i64 little-endian microseconds) and its id (36 ASCII bytes). Clients must not rely on
/// the layout.
enum ContinuationToken {
    static let formatVersion: UInt8 = 1

    static func encode(_ cursor: ConversationCursor) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeUInt8(formatVersion)
        writer.writeInt64(cursor.createdAtMicroseconds)
        writer.writeRaw(Array(cursor.id.utf8))
        return writer.bytes
    }

    static func decodeConversationCursor(_ token: [UInt8]) throws(RequestError) -> ConversationCursor {
        var reader = ByteReader(token)
        do {
            guard try reader.readUInt8() == formatVersion else { throw RequestError.invalidArgument(field: "continuation", "unknown token format") }
            let created = try reader.readInt64()
            let id = String(decoding: try reader.readRaw(count: reader.remaining), as: UTF8.self)
            return ConversationCursor(createdAtMicroseconds: created, id: try Validation.uuid(id, field: "continuation"))
        } catch let error as RequestError {
            throw error
        } catch {
            throw RequestError.invalidArgument(field: "continuation", "not a token this server issued")
        }
    }
}

/// Argument checks shared by the conversation and execution handlers.
enum Validation {
    /// The canonical lowercase form of a UUID, or invalid_argument.
    static func uuid(_ text: String, field: String) throws(RequestError) -> String {
        guard text.utf8.count == 36, let uuid = UUID(uuidString: text) else {
            throw .invalidArgument(field: field, "not a UUID: \(text.prefix(64))")
        }
        return uuid.uuidString.lowercased()
    }

    static func title(_ title: String) throws(RequestError) -> String {
        let characters = title.unicodeScalars.count
        guard characters <= ConversationLimits.titleCharactersMax else {
            throw .invalidArgument(field: "title", "\(characters) characters; at most \(ConversationLimits.titleCharactersMax)")
        }
        guard !title.unicodeScalars.contains("\0") else { throw .invalidArgument(field: "title", "contains U+0000") }
        return title
    }

    static func identifier(_ value: String, field: String) throws(RequestError) {
        guard !value.isEmpty, value.utf8.count <= ConversationLimits.identifierBytesMax else {
            throw .invalidArgument(field: field, "must be 1...\(ConversationLimits.identifierBytesMax) bytes")
        }
        guard !value.unicodeScalars.contains("\0") else { throw .invalidArgument(field: field, "contains U+0000") }
    }

    static func json(_ map: ValueMap, field: String) throws(RequestError) -> String {
        try json(.map(map), field: field)
    }

    static func json(_ value: Value, field: String) throws(RequestError) -> String {
        do {
            return try ConversationJSON.encode(value)
        } catch {
            throw .invalidArgument(field: field, "not representable as JSON: \(error.reason)")
        }
    }
}
