// MEMORY_BATCH (0x0407): several single operations in one request, run in order.

/// One operation of a batch: its opcode and exactly the request body it would have alone.
public struct MemoryBatchOperation: Sendable, Hashable {
    public var opcode: Opcode
    public var body: [UInt8]

    public init(opcode: Opcode, body: [UInt8]) {
        self.opcode = opcode
        self.body = body
    }

    public init(_ opcode: Opcode, _ message: some WireMessage) {
        self.init(opcode: opcode, body: message.encodedBody)
    }
}

public struct MemoryBatchRequest: WireMessage, Hashable {
    public var operations: [MemoryBatchOperation]

    public init(operations: [MemoryBatchOperation]) { self.operations = operations }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(operations) { writer, operation in
            writer.writeUInt16(operation.opcode.rawValue)
            writer.writeBytes(operation.body)
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryBatchRequest {
        let count = try reader.readCount("ops", minimumElementBytes: 6)
        var operations: [MemoryBatchOperation] = []
        operations.reserveCapacity(count)
        for _ in 0..<count {
            let opcode = Opcode(rawValue: try reader.readUInt16("opcode"))
            operations.append(MemoryBatchOperation(opcode: opcode, body: try reader.readBytes("body")))
        }
        return MemoryBatchRequest(operations: operations)
    }
}

/// One result of a batch: ok with the single operation's response body, or an ErrorBody.
public struct MemoryBatchResult: Sendable, Hashable {
    public var isSuccess: Bool
    public var body: [UInt8]

    public init(isSuccess: Bool, body: [UInt8]) {
        self.isSuccess = isSuccess
        self.body = body
    }
}

public struct MemoryBatchResponse: WireMessage, Hashable {
    public var results: [MemoryBatchResult]

    public init(results: [MemoryBatchResult]) { self.results = results }

    public func write(into writer: inout ByteWriter) {
        writer.writeList(results) { writer, result in
            writer.writeBool(result.isSuccess)
            writer.writeBytes(result.body)
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryBatchResponse {
        let count = try reader.readCount("results", minimumElementBytes: 5)
        var results: [MemoryBatchResult] = []
        results.reserveCapacity(count)
        for _ in 0..<count {
            let ok = try reader.readBool("ok")
            results.append(MemoryBatchResult(isSuccess: ok, body: try reader.readBytes("body")))
        }
        return MemoryBatchResponse(results: results)
    }
}
