// Requests of the execution operations and the totals response (protocol-spec.md section 7.2).

public struct ExecutionCreateRequest: WireMessage, Hashable {
    public var conversationID: String
    /// Nil: the server generates a random UUID.
    public var id: String?
    public var agentName: String
    /// For example "supervisor" or "worker".
    public var agentType: String
    public var input: Value
    public var metadata: ValueMap
    /// True creates the execution already running (started now); false creates it pending.
    public var start: Bool

    public init(conversationID: String, id: String? = nil, agentName: String, agentType: String, input: Value,
                metadata: ValueMap = [:], start: Bool = true) {
        self.conversationID = conversationID
        self.id = id
        self.agentName = agentName
        self.agentType = agentType
        self.input = input
        self.metadata = metadata
        self.start = start
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(conversationID)
        writer.writeOptionalString(id)
        writer.writeString(agentName)
        writer.writeString(agentType)
        writer.writeValue(input)
        writer.writeValueMap(metadata)
        writer.writeBool(start)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionCreateRequest {
        ExecutionCreateRequest(conversationID: try reader.readString("conversation_id"),
                               id: try reader.readOptionalString("id"),
                               agentName: try reader.readString("agent_name"),
                               agentType: try reader.readString("agent_type"),
                               input: try reader.readValue(), metadata: try reader.readValueMap(),
                               start: try reader.readBool("start"))
    }
}

/// Completes (running -> completed, with `output`) or fails (running -> failed, with
/// `errorMessage`) an execution: EXECUTION_COMPLETE and EXECUTION_FAIL share this body shape
/// except for the second field.
public struct ExecutionCompleteRequest: WireMessage, Hashable {
    public var id: String
    public var output: Value
    public var tokensUsed: UInt64

    public init(id: String, output: Value, tokensUsed: UInt64) {
        self.id = id
        self.output = output
        self.tokensUsed = tokensUsed
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(id)
        writer.writeValue(output)
        writer.writeUInt64(tokensUsed)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionCompleteRequest {
        ExecutionCompleteRequest(id: try reader.readString("id"), output: try reader.readValue(),
                                 tokensUsed: try reader.readUInt64("tokens_used"))
    }
}

public struct ExecutionFailRequest: WireMessage, Hashable {
    public var id: String
    public var errorMessage: String
    public var tokensUsed: UInt64

    public init(id: String, errorMessage: String, tokensUsed: UInt64) {
        self.id = id
        self.errorMessage = errorMessage
        self.tokensUsed = tokensUsed
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(id)
        writer.writeString(errorMessage)
        writer.writeUInt64(tokensUsed)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionFailRequest {
        ExecutionFailRequest(id: try reader.readString("id"), errorMessage: try reader.readString("error_message"),
                             tokensUsed: try reader.readUInt64("tokens_used"))
    }
}

public struct ExecutionTotalsRequest: WireMessage, Hashable {
    /// Executions created at or after this time (ms since the epoch); nil: no lower bound.
    public var sinceMilliseconds: Int64?
    /// Executions created before this time; nil: no upper bound.
    public var untilMilliseconds: Int64?
    /// Nil: every conversation.
    public var conversationID: String?

    public init(sinceMilliseconds: Int64? = nil, untilMilliseconds: Int64? = nil, conversationID: String? = nil) {
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
        self.conversationID = conversationID
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeOptionalInt64(sinceMilliseconds)
        writer.writeOptionalInt64(untilMilliseconds)
        writer.writeOptionalString(conversationID)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionTotalsRequest {
        ExecutionTotalsRequest(sinceMilliseconds: try reader.readOptionalInt64("since_ms"),
                               untilMilliseconds: try reader.readOptionalInt64("until_ms"),
                               conversationID: try reader.readOptionalString("conversation_id"))
    }
}

public struct AgentTotals: Sendable, Hashable {
    public var agentName: String
    public var executions: UInt64
    public var tokensUsed: UInt64
    /// Sum of the durations of finished (completed or failed) executions.
    public var durationMilliseconds: UInt64

    public init(agentName: String, executions: UInt64, tokensUsed: UInt64, durationMilliseconds: UInt64) {
        self.agentName = agentName
        self.executions = executions
        self.tokensUsed = tokensUsed
        self.durationMilliseconds = durationMilliseconds
    }
}

public struct ExecutionTotalsResponse: WireMessage, Hashable {
    /// One entry per agent name, in ascending order of the name's bytes.
    public var agents: [AgentTotals]

    public init(agents: [AgentTotals]) { self.agents = agents }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(agents) { writer, totals in
            writer.writeString(totals.agentName)
            writer.writeUInt64(totals.executions)
            writer.writeUInt64(totals.tokensUsed)
            writer.writeUInt64(totals.durationMilliseconds)
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ExecutionTotalsResponse {
        // A string length and three u64 per entry.
        let count = try reader.readCount("agents", minimumElementBytes: 28)
        var agents: [AgentTotals] = []
        for _ in 0..<count {
            agents.append(AgentTotals(agentName: try reader.readString("agent_name"),
                                      executions: try reader.readUInt64("executions"),
                                      tokensUsed: try reader.readUInt64("tokens_used"),
                                      durationMilliseconds: try reader.readUInt64("duration_ms")))
        }
        return ExecutionTotalsResponse(agents: agents)
    }
}
