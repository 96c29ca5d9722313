// A conversation as the server returns it. Times are milliseconds since the Unix epoch, UTC.

public struct ConversationRecord: WireMessage, Hashable {
    /// A UUID in its canonical lowercase text form.
    public var id: String
    public var title: String
    public var userID: String?
    public var createdAtMilliseconds: Int64
    /// Set by the server on every change of the conversation's own fields.
    public var updatedAtMilliseconds: Int64
    public var metadata: ValueMap

    public init(id: String, title: String, userID: String?, createdAtMilliseconds: Int64,
                updatedAtMilliseconds: Int64, metadata: ValueMap) {
        self.id = id
        self.title = title
        self.userID = userID
        self.createdAtMilliseconds = createdAtMilliseconds
        self.updatedAtMilliseconds = updatedAtMilliseconds
        self.metadata = metadata
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(id)
        writer.writeString(title)
        writer.writeOptionalString(userID)
        writer.writeInt64(createdAtMilliseconds)
        writer.writeInt64(updatedAtMilliseconds)
        writer.writeValueMap(metadata)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ConversationRecord {
        ConversationRecord(id: try reader.readString("id"), title: try reader.readString("title"),
                           userID: try reader.readOptionalString("user_id"),
                           createdAtMilliseconds: try reader.readInt64("created_at_ms"),
                           updatedAtMilliseconds: try reader.readInt64("updated_at_ms"),
                           metadata: try reader.readValueMap())
    }

    /// Smallest encoding: two empty strings, an absent user id, two i64 and an empty map.
    static let encodedBytesMin = 4 + 4 + 1 + 8 + 8 + 4
}
