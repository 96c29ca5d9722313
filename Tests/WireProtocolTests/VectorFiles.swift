// Loads the machine-readable test vectors (Tests/Vectors/*.json) and converts their decoded
// forms into WireProtocol values, so tests can check both directions.
import Foundation
import WireProtocol

enum VectorFiles {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Vectors")

    static func load(_ name: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        guard let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw VectorFormatError("\(name) is not a JSON array of objects")
        }
        return array
    }

    static func bytes(_ vector: [String: Any]) throws -> [UInt8] {
        guard let text = vector["hex"] as? String, let bytes = Hex.bytes(text) else {
            throw VectorFormatError("vector \(vector["name"] ?? "?") has no valid hex")
        }
        return bytes
    }

    static func value(_ json: Any?) throws -> Value {
        guard let object = json as? [String: Any], object.count == 1, let (kind, payload) = object.first else {
            throw VectorFormatError("value must be a one-key object: \(String(describing: json))")
        }
        switch kind {
        case "null": return .null
        case "bool": return .bool(try cast(payload, Bool.self))
        case "int":
            guard let number = Int64(try cast(payload, String.self)) else { throw VectorFormatError("bad int \(payload)") }
            return .int(number)
        case "float": return .float(try cast(payload, NSNumber.self).doubleValue)
        case "string": return .string(try cast(payload, String.self))
        case "bytes": return .bytes(try hexBytes(payload))
        case "list": return .list(try cast(payload, [Any].self).map(value))
        case "map": return .map(try valueMap(payload))
        default: throw VectorFormatError("unknown value kind \(kind)")
        }
    }

    static func valueMap(_ json: Any?) throws -> ValueMap {
        var map = ValueMap()
        for entry in try cast(json, [[Any]].self) {
            guard entry.count == 2, let key = entry[0] as? String else { throw VectorFormatError("bad map entry") }
            map[key] = try value(entry[1])
        }
        return map
    }

    static func header(_ json: Any?, bodyLength: Int) throws -> FrameHeader {
        let object = try cast(json, [String: Any].self)
        guard let requestID = UInt64(try cast(object["request_id"], String.self)) else {
            throw VectorFormatError("bad request_id")
        }
        return FrameHeader(
            bodyLength: UInt32((object["body_length"] as? Int) ?? bodyLength),
            opcode: Opcode(rawValue: UInt16(try cast(object["opcode"], Int.self))),
            flags: FrameFlags(rawValue: UInt16(try cast(object["flags"], Int.self))),
            requestID: requestID,
            timeoutMilliseconds: UInt32(try cast(object["timeout_ms"], Int.self)),
            checksum: UInt32(try cast(object["checksum"], Int.self)))
    }

    /// The typed message a frame vector's decoded body stands for, as encoded body bytes plus a
    /// decoder that turns body bytes back into a comparable value.
    static func message(named name: String, fields json: Any?) throws -> any WireMessage {
        let fields = try cast(json, [String: Any].self)
        func string(_ key: String) throws -> String { try cast(fields[key], String.self) }
        func integer(_ key: String) throws -> Int { try cast(fields[key], Int.self) }
        func u64(_ key: String) throws -> UInt64 {
            guard let number = UInt64(try string(key)) else { throw VectorFormatError("bad u64 \(key)") }
            return number
        }
        switch name {
        case "hello":
            return Hello(version: UInt16(try integer("version")), capabilities: try valueMap(fields["capabilities"]))
        case "error":
            return ErrorBody(code: ErrorCode(rawValue: UInt16(try integer("code"))),
                             flags: ErrorFlags(rawValue: UInt16(try integer("flags"))),
                             message: try string("message"), details: try valueMap(fields["details"]))
        case "auth_request":
            return AuthRequest(mechanism: try string("mechanism"), credential: try hexBytes(fields["credential"]))
        case "auth_response":
            return AuthResponse(principal: try string("principal"))
        case "ping":
            return PingMessage(payload: try u64("payload"))
        case "go_away":
            return GoAway(lastRequestID: try u64("last_request_id"), code: ErrorCode(rawValue: UInt16(try integer("code"))),
                          message: try string("message"))
        case "health_response":
            let backends = try cast(fields["backends"], [[String: Any]].self).map { backend in
                BackendHealth(name: try cast(backend["name"], String.self),
                              state: BackendState(rawValue: UInt8(try cast(backend["state"], Int.self)))!,
                              detail: try cast(backend["detail"], String.self))
            }
            return HealthResponse(status: BackendState(rawValue: UInt8(try integer("status")))!,
                                  serverVersion: try string("server_version"),
                                  protocolVersion: UInt16(try integer("protocol_version")),
                                  uptimeMilliseconds: try u64("uptime_ms"),
                                  connectionCount: UInt32(try integer("connections")),
                                  inFlightCount: UInt32(try integer("in_flight")), backends: backends)
        case "empty":
            return EmptyMessage()
        default:
            throw VectorFormatError("unknown message kind \(name)")
        }
    }

    /// Decodes `body` as the same message type as `expected`, for comparison.
    static func decodeLike(_ expected: any WireMessage, body: [UInt8]) throws -> any WireMessage {
        func decode<M: WireMessage>(_ message: M) throws -> any WireMessage { try M.decode(body: body) }
        return try decode(expected)
    }

    static func hexBytes(_ json: Any?) throws -> [UInt8] {
        guard let text = json as? String, let bytes = Hex.bytes(text) else { throw VectorFormatError("bad hex") }
        return bytes
    }

    static func cast<T>(_ json: Any?, _ type: T.Type) throws -> T {
        guard let value = json as? T else { throw VectorFormatError("expected \(T.self), got \(String(describing: json))") }
        return value
    }
}

struct VectorFormatError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Compares two messages of the same concrete type through their encodings' decoded values.
func messagesEqual(_ lhs: any WireMessage, _ rhs: any WireMessage) -> Bool {
    func open<M: WireMessage & Hashable>(_ left: M) -> Bool {
        guard let right = rhs as? M else { return false }
        return left == right
    }
    guard let hashable = lhs as? any (WireMessage & Hashable) else { return false }
    return open(hashable)
}
