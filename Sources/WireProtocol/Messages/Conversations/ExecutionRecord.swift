// An agent execution as the server returns it. Times are milliseconds since the Unix epoch, UTC.

public struct ExecutionRecord: WireMessage, Hashable {
    public var id: String
    public var conversationID: String
    public var agentName: String
    public var agentType: String
    public var status: ExecutionStatus
    public var input: Value
    /// `.null` until the execution completes (or when it completed without output).
    public var output: Value
    public var errorMessage: String?
    public var createdAtMilliseconds: Int64
    public var startedAtMilliseconds: Int64?
    public var completedAtMilliseconds: Int64?
    /// completed_at - started_at, set when the execution completes or fails.
    public var durationMilliseconds: Int64?
    public var tokensUsed: UInt64
    public var metadata: ValueMap

    public init(id: String, conversationID: String, agentName: String, agentType: String, status: ExecutionStatus,
                input: Value, output: Value, errorMessage: String?, createdAtMilliseconds: Int64,
                startedAtMilliseconds: Int64?, completedAtMilliseconds: Int64?, durationMilliseconds: Int64?,
                tokensUsed: UInt64, metadata: ValueMap) {
        self.id = id
        self.conversationID = conversationID
        self.agentName = agentName
        self.agentType = agentType
        self.status = status
        self.input = input
        self.output = output
        self.errorMessage = errorMessage
        self.createdAtMilliseconds = createdAtMilliseconds
        self.startedAtMilliseconds = startedAtMilliseconds
        self.completedAtMilliseconds = completedAtMilliseconds
        self.durationMilliseconds = durationMilliseconds
        self.tokensUsed = tokensUsed
        self.metadata = metadata
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(id)
        writer.writeString(conversationID)
        writer.writeString(agentName)
        writer.writeString(agentType)
        writer.writeUInt8(status.rawValue)
        writer.writeValue(input)
        writer.writeValue(output)
        writer.writeOptionalString(errorMessage)
        writer.writeInt64(createdAtMilliseconds)
        writer.writeOptionalInt64(startedAtMilliseconds)
        writer.writeOptionalInt64(completedAtMilliseconds)
        writer.writeOptionalInt64(durationMilliseconds)
        writer.writeUInt64(tokensUsed)
        writer.writeValueMap(metadata)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionRecord {
        let id = try reader.readString("id")
        let conversationID = try reader.readString("conversation_id")
        let agentName = try reader.readString("agent_name")
        let agentType = try reader.readString("agent_type")
        let rawStatus = try reader.readUInt8("status")
        guard let status = ExecutionStatus(rawValue: rawStatus) else {
            throw .invalidField(field: "status", reason: "unknown execution status \(rawStatus)")
        }
        return ExecutionRecord(
            id: id, conversationID: conversationID, agentName: agentName, agentType: agentType, status: status,
            input: try reader.readValue(), output: try reader.readValue(),
            errorMessage: try reader.readOptionalString("error_message"),
            createdAtMilliseconds: try reader.readInt64("created_at_ms"),
            startedAtMilliseconds: try reader.readOptionalInt64("started_at_ms"),
            completedAtMilliseconds: try reader.readOptionalInt64("completed_at_ms"),
            durationMilliseconds: try reader.readOptionalInt64("duration_ms"),
            tokensUsed: try reader.readUInt64("tokens_used"),
            metadata: try reader.readValueMap())
    }

    /// Smallest encoding: four empty strings, status, two null values, absent error, created_at,
    /// three absent optionals, tokens, empty map.
    static let encodedBytesMin = 16 + 1 + 2 + 1 + 8 + 3 + 8 + 4
}

/// A page of executions: the partial and final bodies of EXECUTION_LIST.
public struct ExecutionPage: WireMessage, Hashable {
    public var executions: [ExecutionRecord]

    public init(executions: [ExecutionRecord]) { self.executions = executions }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(executions) { writer, record in record.write(into: &writer) }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionPage {
        let count = try reader.readCount("executions", minimumElementBytes: ExecutionRecord.encodedBytesMin)
        var records: [ExecutionRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try ExecutionRecord.read(from: &reader)) }
        return ExecutionPage(executions: records)
    }
}
