// A Redis reply as a Swift value, copied out of hiredis' `redisReply` tree so the C memory can
// be freed at once.
import CHiredis

public enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    /// Bulk strings are bytes: values may hold NUL, CR/LF or any other byte.
    case bulk([UInt8])
    case null
    case array([RedisReply])

    /// Copies a hiredis reply (and its children). The caller still owns and frees `reply`.
    init(copying reply: UnsafePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            self = .bulk(Self.bytes(node.str, count: node.len))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: Self.bytes(node.str, count: node.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: Self.bytes(node.str, count: node.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(node.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(node.elements))
            for index in 0..<Int(node.elements) {
                if let child = node.element[index] {
                    elements.append(RedisReply(copying: child))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            // REDIS_REPLY_NIL, and any type a newer hiredis might add that RESP2 cannot send.
            self = .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }
}

extension RedisReply {
    /// The integer of an `.integer` reply; other replies are a protocol mismatch.
    func integerValue(for command: String) throws(BackendError) -> Int64 {
        switch self {
        case .integer(let value): return value
        case .error(let message): throw .rejected(backend: "redis", reason: "\(command): \(message)")
        default: throw .rejected(backend: "redis", reason: "\(command): unexpected reply \(self)")
        }
    }

    /// Throws `.rejected` for an error reply and returns any other reply unchanged.
    func checked(for command: String) throws(BackendError) -> RedisReply {
        if case .error(let message) = self {
            throw .rejected(backend: "redis", reason: "\(command): \(message)")
        }
        return self
    }
}
