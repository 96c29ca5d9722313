// Typed calls for the memories domain (spec §7.4).
import WireProtocol

extension StoreClient {
    /// Creates a vector collection or checks an existing one (a different dimension or metric
    /// is `.server` with code conflict).
    public func ensureMemoryCollection(_ name: String, dimension: Int, metric: MemoryMetric,
                                       timeout: Duration? = nil) async throws(StoreClientError) {
        let request = MemoryCollectionEnsureRequest(name: name, dimension: UInt32(clamping: dimension), metric: metric)
        _ = try await send(opcode: .memoryCollectionEnsure, body: request.encodedBody, timeout: timeout)
    }

    /// Inserts or replaces an item; returns it as stored.
    public func putMemory(_ request: MemoryPutRequest, timeout: Duration? = nil) async throws(StoreClientError) -> MemoryItem {
        let response = try await send(opcode: .memoryPut, body: request.encodedBody, timeout: timeout)
        return try decodeMemoryResponse(MemoryItem.self, response.body)
    }

    /// The live item, or nil when missing or expired.
    public func memory(namespace: [String], key: String, refreshTimeToLive: Bool = false,
                       timeout: Duration? = nil) async throws(StoreClientError) -> MemoryItem? {
        let request = MemoryGetRequest(namespace: namespace, key: key, refreshTimeToLive: refreshTimeToLive)
        let response = try await send(opcode: .memoryGet, body: request.encodedBody, timeout: timeout)
        return try decodeMemoryResponse(MemoryGetResponse.self, response.body).item
    }

    public func deleteMemory(namespace: [String], key: String, timeout: Duration? = nil) async throws(StoreClientError) {
        let request = MemoryDeleteRequest(namespace: namespace, key: key)
        _ = try await send(opcode: .memoryDelete, body: request.encodedBody, timeout: timeout)
    }

    /// Every page of a search, collected in order.
    public func searchMemories(_ request: MemorySearchRequest, timeout: Duration? = nil) async throws(StoreClientError)
        -> [MemorySearchItem]
    {
        let messages = try await stream(opcode: .memorySearch, body: request.encodedBody, timeout: timeout)
        var items: [MemorySearchItem] = []
        do {
            for try await message in messages {
                items += try decodeMemoryResponse(MemorySearchPage.self, message.body).items
            }
        } catch let error as StoreClientError {
            throw error
        } catch {
            throw .protocolViolation("search stream failed: \(error)")
        }
        return items
    }

    public func listMemoryNamespaces(_ request: MemoryListNamespacesRequest, timeout: Duration? = nil)
        async throws(StoreClientError) -> [[String]]
    {
        let response = try await send(opcode: .memoryListNamespaces, body: request.encodedBody, timeout: timeout)
        return try decodeMemoryResponse(MemoryListNamespacesResponse.self, response.body).namespaces
    }

    /// Runs the operations in order on the server; each result is ok with its response body
    /// or failed with an ErrorBody.
    public func memoryBatch(_ operations: [MemoryBatchOperation], timeout: Duration? = nil)
        async throws(StoreClientError) -> [MemoryBatchResult]
    {
        let response = try await send(opcode: .memoryBatch, body: MemoryBatchRequest(operations: operations).encodedBody,
                                      timeout: timeout)
        return try decodeMemoryResponse(MemoryBatchResponse.self, response.body).results
    }

    private func decodeMemoryResponse<M: WireMessage>(_ type: M.Type, _ body: [UInt8]) throws(StoreClientError) -> M {
        do {
            return try M.decode(body: body)
        } catch {
            throw .protocolViolation("undecodable \(M.self): \(error)")
        }
    }
}
