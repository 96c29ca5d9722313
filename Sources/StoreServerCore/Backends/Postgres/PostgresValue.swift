// A statement parameter. Every value reaches PostgreSQL as a bound parameter, never spliced into
// SQL text, so quoting and injection are not a concern of callers.

public enum PostgresValue: Sendable, Equatable {
    case null
    /// Sent in text format; the server parses it as the parameter's inferred type.
    case text(String)
    /// Sent in binary format. For bytea the bytes are the value itself; for other types they must
    /// be that type's binary (big-endian) representation. The type is inferred by the server, so
    /// write `$1::bytea` where the context does not fix it.
    case bytes([UInt8])
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension PostgresValue {
    /// An integer in text format (the server parses it as int2, int4, int8 or numeric).
    public static func integer<T: BinaryInteger>(_ value: T) -> PostgresValue { .text(String(value)) }
}

/// The wire format of result columns. bytea comes back as raw bytes in binary format and as hex
/// text (`\x...`) in text format.
public enum PostgresFormat: Int32, Sendable {
    case text = 0
    case binary = 1
}
