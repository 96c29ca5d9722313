// The body of every error response: code, flags, a message for people, and details for programs
// (keys such as "limit", "actual", "field", "retry_after_ms", "backend").

public struct ErrorBody: WireMessage, Hashable, Error, CustomStringConvertible {
    public var code: ErrorCode
    public var flags: ErrorFlags
    public var message: String
    public var details: ValueMap

    public init(code: ErrorCode, flags: ErrorFlags? = nil, message: String, details: ValueMap = [:]) {
        self.code = code
        self.flags = flags ?? code.defaultFlags
        self.message = message
        self.details = details
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeUInt16(code.rawValue)
        writer.writeUInt16(flags.rawValue)
        writer.writeString(message)
        writer.writeValueMap(details)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> ErrorBody {
        ErrorBody(code: ErrorCode(rawValue: try reader.readUInt16("code")),
                  flags: ErrorFlags(rawValue: try reader.readUInt16("flags")),
                  message: try reader.readString("message"),
                  details: try reader.readValueMap())
    }

    public var description: String { "\(code.name): \(message)" }
}
