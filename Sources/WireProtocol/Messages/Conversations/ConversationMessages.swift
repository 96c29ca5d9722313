// Requests and responses of the conversation operations (protocol-spec.md section 7.2).

public struct ConversationCreateRequest: WireMessage, Hashable {
    /// Nil: the server generates a random UUID.
    public var id: String?
    /// Nil: "New Conversation".
    public var title: String?
    public var userID: String?
    public var metadata: ValueMap

    public init(id: String? = nil, title: String? = nil, userID: String? = nil, metadata: ValueMap = [:]) {
        self.id = id
        self.title = title
        self.userID = userID
        self.metadata = metadata
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptionalString(id)
        writer.writeOptionalString(title)
        writer.writeOptionalString(userID)
        writer.writeValueMap(metadata)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationCreateRequest {
        ConversationCreateRequest(id: try reader.readOptionalString("id"), title: try reader.readOptionalString("title"),
                                  userID: try reader.readOptionalString("user_id"), metadata: try reader.readValueMap())
    }
}

/// The body of get and delete of a conversation, and of start and get of an execution: one id.
public struct IDRequest: WireMessage, Hashable {
    public var id: String

    public init(id: String) { self.id = id }

    public func write(into writer: inout ByteWriter) { writer.writeString(id) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> IDRequest {
        IDRequest(id: try reader.readString("id"))
    }
}

public struct ConversationUpdateRequest: WireMessage, Hashable {
    public var id: String
    /// Nil leaves the title as it is.
    public var title: String?
    /// Nil leaves the metadata as it is; a map replaces it whole.
    public var metadata: ValueMap?

    public init(id: String, title: String? = nil, metadata: ValueMap? = nil) {
        self.id = id
        self.title = title
        self.metadata = metadata
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(id)
        writer.writeOptionalString(title)
        writer.writeOptional(metadata) { writer, map in writer.writeValueMap(map) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationUpdateRequest {
        let id = try reader.readString("id")
        let title = try reader.readOptionalString("title")
        let metadata = try reader.readPresence("metadata") ? try reader.readValueMap() : nil
        return ConversationUpdateRequest(id: id, title: title, metadata: metadata)
    }
}

public struct ConversationDeleteResponse: WireMessage, Hashable {
    /// Executions deleted with the conversation.
    public var executionsDeleted: UInt64

    public init(executionsDeleted: UInt64) { self.executionsDeleted = executionsDeleted }

    public func write(into writer: inout ByteWriter) { writer.writeUInt64(executionsDeleted) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationDeleteResponse {
        ConversationDeleteResponse(executionsDeleted: try reader.readUInt64("executions_deleted"))
    }
}

public struct ConversationListRequest: WireMessage, Hashable {
    /// Nil lists every user's conversations.
    public var userID: String?
    /// Page size, 1...256; 0 asks for the server's default (50).
    public var limit: UInt32
    /// The token of the previous page's response; nil for the first page.
    public var continuation: [UInt8]?

    public init(userID: String?, limit: UInt32 = 0, continuation: [UInt8]? = nil) {
        self.userID = userID
        self.limit = limit
        self.continuation = continuation
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptionalString(userID)
        writer.writeUInt32(limit)
        writer.writeOptional(continuation) { writer, token in writer.writeBytes(token) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationListRequest {
        ConversationListRequest(userID: try reader.readOptionalString("user_id"), limit: try reader.readUInt32("limit"),
                                continuation: try reader.readOptionalBytes("continuation"))
    }
}

public struct ConversationListResponse: WireMessage, Hashable {
    /// Newest first (by creation time, then id).
    public var conversations: [ConversationRecord]
    /// Present when more conversations may follow; pass it back to get the next page.
    public var continuation: [UInt8]?

    public init(conversations: [ConversationRecord], continuation: [UInt8]?) {
        self.conversations = conversations
        self.continuation = continuation
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(conversations) { writer, record in record.write(into: &writer) }
        writer.writeOptional(continuation) { writer, token in writer.writeBytes(token) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationListResponse {
        let count = try reader.readCount("conversations", minimumElementBytes: ConversationRecord.encodedBytesMin)
        var records: [ConversationRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try ConversationRecord.read(from: &reader)) }
        return ConversationListResponse(conversations: records, continuation: try reader.readOptionalBytes("continuation"))
    }
}
