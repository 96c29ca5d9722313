// Decodes memories requests, runs them on the service and encodes the responses.
import WireProtocol

struct MemoryHandlers: Sendable {
    let service: MemoryService

    func register(into router: inout OperationRouter) {
        for opcode in [Opcode.memoryCollectionEnsure, .memoryPut, .memoryGet, .memoryDelete,
                       .memoryListNamespaces, .memoryBatch] {
            router.register(opcode, .deferred { request, _ in
                try await perform(opcode, body: request.body, limits: request.limits)
            })
        }
        router.register(.memorySearch, .deferred { request, streaming in
            let items = try await search(body: request.body, limits: request.limits)
            // Full pages go out as partials; the final response carries the rest (maybe none).
            var start = 0
            while items.count - start > MemoryLimits.searchPageItemsMax {
                let end = start + MemoryLimits.searchPageItemsMax
                streaming.sendPartial(MemorySearchPage(items: Array(items[start..<end])).encodedBody)
                start = end
            }
            return MemorySearchPage(items: Array(items[start...])).encodedBody
        })
    }

    /// One operation's complete response body (a search's whole list, as in a batch).
    func perform(_ opcode: Opcode, body: [UInt8], limits: ProtocolLimits) async throws -> [UInt8] {
        switch opcode {
        case .memoryCollectionEnsure:
            try await service.ensureCollection(try MemoryCollectionEnsureRequest.decode(body: body), limits: limits)
            return []
        case .memoryPut:
            return try await service.put(try MemoryPutRequest.decode(body: body), limits: limits).encodedBody
        case .memoryGet:
            return MemoryGetResponse(item: try await service.get(try MemoryGetRequest.decode(body: body))).encodedBody
        case .memoryDelete:
            try await service.delete(try MemoryDeleteRequest.decode(body: body))
            return []
        case .memorySearch:
            return MemorySearchPage(items: try await search(body: body, limits: limits)).encodedBody
        case .memoryListNamespaces:
            let namespaces = try await service.listNamespaces(try MemoryListNamespacesRequest.decode(body: body))
            return MemoryListNamespacesResponse(namespaces: namespaces).encodedBody
        case .memoryBatch:
            return try await batch(try MemoryBatchRequest.decode(body: body), limits: limits).encodedBody
        default:
            throw RequestError(.unknownOpcode, "\(opcode) is not a memories operation")
        }
    }

    private func search(body: [UInt8], limits: ProtocolLimits) async throws -> [MemorySearchItem] {
        try await service.search(try MemorySearchRequest.decode(body: body), limits: limits)
    }

    /// Runs the operations in order; each fails or succeeds on its own, like separate requests.
    private func batch(_ request: MemoryBatchRequest, limits: ProtocolLimits) async throws -> MemoryBatchResponse {
        guard request.operations.count <= MemoryLimits.batchOperationsMax else {
            throw RequestError.invalidArgument(field: "ops", "more than \(MemoryLimits.batchOperationsMax) operations")
        }
        var results: [MemoryBatchResult] = []
        results.reserveCapacity(request.operations.count)
        for operation in request.operations {
            try Task.checkCancellation()
            do {
                guard Opcode.memoryBatchable.contains(operation.opcode) else {
                    throw RequestError.invalidArgument(field: "opcode", "\(operation.opcode) cannot be batched")
                }
                results.append(MemoryBatchResult(isSuccess: true,
                                                 body: try await perform(operation.opcode, body: operation.body, limits: limits)))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                results.append(MemoryBatchResult(isSuccess: false, body: ErrorMapping.errorBody(for: error).encodedBody))
            }
        }
        return MemoryBatchResponse(results: results)
    }
}
