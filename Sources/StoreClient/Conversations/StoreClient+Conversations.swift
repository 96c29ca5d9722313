import WireProtocol

// Typed calls for the conversation and agent execution operations of protocol-spec.md
// section 7.2. Errors from the server arrive as `.server(body)`: invalid_argument (with
// `field`), not_found, conflict (an illegal execution status transition, or an id in use).

extension StoreClient {
    public func createConversation(id: String? = nil, title: String? = nil, userID: String? = nil,
                                   metadata: ValueMap = [:], timeout: Duration? = nil) async throws(StoreClientError) -> ConversationRecord {
        let body = ConversationCreateRequest(id: id, title: title, userID: userID, metadata: metadata).encodedBody
        return try await call(.conversationCreate, body, ConversationRecord.self, "CONVERSATION_CREATE", timeout)
    }

    public func conversation(id: String, timeout: Duration? = nil) async throws(StoreClientError) -> ConversationRecord {
        try await call(.conversationGet, IDRequest(id: id).encodedBody, ConversationRecord.self, "CONVERSATION_GET", timeout)
    }

    /// Nil arguments leave the field as it is; `metadata` replaces the whole map.
    public func updateConversation(id: String, title: String? = nil, metadata: ValueMap? = nil,
                                   timeout: Duration? = nil) async throws(StoreClientError) -> ConversationRecord {
        let body = ConversationUpdateRequest(id: id, title: title, metadata: metadata).encodedBody
        return try await call(.conversationUpdate, body, ConversationRecord.self, "CONVERSATION_UPDATE", timeout)
    }

    /// Deletes the conversation and its executions; returns how many executions went with it.
    @discardableResult
    public func deleteConversation(id: String, timeout: Duration? = nil) async throws(StoreClientError) -> UInt64 {
        try await call(.conversationDelete, IDRequest(id: id).encodedBody, ConversationDeleteResponse.self,
                       "CONVERSATION_DELETE", timeout).executionsDeleted
    }

    /// One page, newest first; pass the returned continuation back for the next page.
    public func listConversations(userID: String?, limit: UInt32 = 0, continuation: [UInt8]? = nil,
                                  timeout: Duration? = nil) async throws(StoreClientError) -> ConversationListResponse {
        let body = ConversationListRequest(userID: userID, limit: limit, continuation: continuation).encodedBody
        return try await call(.conversationList, body, ConversationListResponse.self, "CONVERSATION_LIST", timeout)
    }

    public func createExecution(_ request: ExecutionCreateRequest, timeout: Duration? = nil) async throws(StoreClientError) -> ExecutionRecord {
        try await call(.executionCreate, request.encodedBody, ExecutionRecord.self, "EXECUTION_CREATE", timeout)
    }

    /// pending -> running.
    public func startExecution(id: String, timeout: Duration? = nil) async throws(StoreClientError) -> ExecutionRecord {
        try await call(.executionStart, IDRequest(id: id).encodedBody, ExecutionRecord.self, "EXECUTION_START", timeout)
    }

    /// running -> completed.
    public func completeExecution(id: String, output: Value, tokensUsed: UInt64,
                                  timeout: Duration? = nil) async throws(StoreClientError) -> ExecutionRecord {
        let body = ExecutionCompleteRequest(id: id, output: output, tokensUsed: tokensUsed).encodedBody
        return try await call(.executionComplete, body, ExecutionRecord.self, "EXECUTION_COMPLETE", timeout)
    }

    /// running -> failed.
    public func failExecution(id: String, errorMessage: String, tokensUsed: UInt64,
                              timeout: Duration? = nil) async throws(StoreClientError) -> ExecutionRecord {
        let body = ExecutionFailRequest(id: id, errorMessage: errorMessage, tokensUsed: tokensUsed).encodedBody
        return try await call(.executionFail, body, ExecutionRecord.self, "EXECUTION_FAIL", timeout)
    }

    public func execution(id: String, timeout: Duration? = nil) async throws(StoreClientError) -> ExecutionRecord {
        try await call(.executionGet, IDRequest(id: id).encodedBody, ExecutionRecord.self, "EXECUTION_GET", timeout)
    }

    /// Every execution of the conversation, oldest first (the server streams them in pages).
    public func executions(conversationID: String, timeout: Duration? = nil) async throws(StoreClientError) -> [ExecutionRecord] {
        let messages = try await stream(opcode: .executionList, body: IDRequest(id: conversationID).encodedBody, timeout: timeout)
        var records: [ExecutionRecord] = []
        do {
            for try await message in messages {
                records += try decodeResponse(ExecutionPage.self, from: message, operation: "EXECUTION_LIST").executions
            }
        } catch let error as StoreClientError {
            throw error
        } catch {
            throw .protocolViolation("EXECUTION_LIST stream failed: \(error)")
        }
        return records
    }

    /// Totals per agent name over executions created in [since, until).
    public func executionTotals(sinceMilliseconds: Int64? = nil, untilMilliseconds: Int64? = nil,
                                conversationID: String? = nil, timeout: Duration? = nil) async throws(StoreClientError) -> [AgentTotals] {
        let body = ExecutionTotalsRequest(sinceMilliseconds: sinceMilliseconds, untilMilliseconds: untilMilliseconds,
                                          conversationID: conversationID).encodedBody
        return try await call(.executionTotals, body, ExecutionTotalsResponse.self, "EXECUTION_TOTALS", timeout).agents
    }

    private func call<M: WireMessage>(_ opcode: Opcode, _ body: [UInt8], _ type: M.Type, _ name: String,
                                      _ timeout: Duration?) async throws(StoreClientError) -> M {
        let response = try await send(opcode: opcode, body: body, timeout: timeout)
        return try decodeResponse(type, from: response, operation: name)
    }
}
