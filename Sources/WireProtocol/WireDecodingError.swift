// Why a message body could not be decoded. These become request-level invalid_argument errors
// (or, for the preface and frame header, connection-fatal errors) in one mapping on the server.

public enum WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(field: String, needed: Int, remaining: Int)
    case lengthExceedsFrame(field: String, declared: Int, remaining: Int)
    case limitExceeded(field: String, limit: Int, actual: Int)
    case invalidUTF8(field: String)
    case invalidBool(field: String, byte: UInt8)
    case invalidPresence(field: String, byte: UInt8)
    case invalidValueTag(UInt8)
    case nestingTooDeep(limit: Int)
    case mapKeysNotAscending(key: String)
    case nonFiniteFloat(field: String, index: Int)
    case invalidField(field: String, reason: String)

    public var field: String? {
        switch self {
        case let .truncated(field, _, _), let .lengthExceedsFrame(field, _, _),
             let .limitExceeded(field, _, _), let .invalidUTF8(field), let .invalidBool(field, _),
             let .invalidPresence(field, _), let .nonFiniteFloat(field, _), let .invalidField(field, _):
            return field
        case .invalidValueTag, .nestingTooDeep, .mapKeysNotAscending:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .truncated(field, needed, remaining):
            "\(field): needs \(needed) bytes but only \(remaining) remain"
        case let .lengthExceedsFrame(field, declared, remaining):
            "\(field): declared length \(declared) exceeds the \(remaining) bytes that remain"
        case let .limitExceeded(field, limit, actual):
            "\(field): \(actual) exceeds the limit of \(limit)"
        case let .invalidUTF8(field):
            "\(field): not valid UTF-8"
        case let .invalidBool(field, byte):
            "\(field): bool must be 0 or 1, got \(byte)"
        case let .invalidPresence(field, byte):
            "\(field): presence byte must be 0 or 1, got \(byte)"
        case let .invalidValueTag(tag):
            "unknown value tag \(tag)"
        case let .nestingTooDeep(limit):
            "value nested deeper than \(limit) levels"
        case let .mapKeysNotAscending(key):
            "map key \"\(key)\" is not strictly greater than the previous key"
        case let .nonFiniteFloat(field, index):
            "\(field): component \(index) is NaN or infinite"
        case let .invalidField(field, reason):
            "\(field): \(reason)"
        }
    }
}
