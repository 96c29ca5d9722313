// The fixed 24-byte frame header. It can be validated before any of the body is read, so a bad
// or oversized frame is refused from its first 24 bytes.
//
//   offset  size  field
//        0     4  bodyLength    bytes that follow the header (u32)
//        4     2  opcode        (u16)
//        6     2  flags         (u16, reserved bits zero)
//        8     8  requestID     (u64; 0 for server-initiated frames)
//       16     4  timeoutMs     (u32; 0 = the server's default)
//       20     4  checksum      (u32; CRC32C of the body when flags has `checksum`, else 0)

public struct FrameHeader: Sendable, Hashable {
    public static let byteCount = 24

    public var bodyLength: UInt32
    public var opcode: Opcode
    public var flags: FrameFlags
    public var requestID: UInt64
    public var timeoutMilliseconds: UInt32
    public var checksum: UInt32

    public init(bodyLength: UInt32, opcode: Opcode, flags: FrameFlags, requestID: UInt64,
                timeoutMilliseconds: UInt32 = 0, checksum: UInt32 = 0) {
        self.bodyLength = bodyLength
        self.opcode = opcode
        self.flags = flags
        self.requestID = requestID
        self.timeoutMilliseconds = timeoutMilliseconds
        self.checksum = checksum
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeUInt32(bodyLength)
        writer.writeUInt16(opcode.rawValue)
        writer.writeUInt16(flags.rawValue)
        writer.writeUInt64(requestID)
        writer.writeUInt32(timeoutMilliseconds)
        writer.writeUInt32(checksum)
    }

    /// Reads the fields without judging them; `validate` does that.
    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> FrameHeader {
        FrameHeader(
            bodyLength: try reader.readUInt32("bodyLength"),
            opcode: Opcode(rawValue: try reader.readUInt16("opcode")),
            flags: FrameFlags(rawValue: try reader.readUInt16("flags")),
            requestID: try reader.readUInt64("requestID"),
            timeoutMilliseconds: try reader.readUInt32("timeoutMs"),
            checksum: try reader.readUInt32("checksum")
        )
    }

    /// Checks everything that can be checked without the body. `bodyBytesMax` is the limit in
    /// force (smaller before authentication).
    public func validate(bodyBytesMax: Int, checksumsEnabled: Bool) throws(ProtocolViolation) {
        if flags.reservedBits != 0 {
            throw ProtocolViolation(.malformedFrame, "reserved flag bits set: 0x\(String(flags.reservedBits, radix: 16))")
        }
        if !flags.contains(.response) && (flags.contains(.error) || flags.contains(.stream)) {
            throw ProtocolViolation(.malformedFrame, "error and stream flags are only valid on responses")
        }
        if Int(bodyLength) > bodyBytesMax {
            throw ProtocolViolation(.frameTooLarge, "frame body of \(bodyLength) bytes exceeds the limit of \(bodyBytesMax)",
                                    details: ["actual": .int(Int64(bodyLength)), "limit": .int(Int64(bodyBytesMax))])
        }
        if flags.contains(.checksum) {
            if !checksumsEnabled {
                throw ProtocolViolation(.malformedFrame, "checksum flag set but checksums were not negotiated")
            }
        } else if checksum != 0 {
            throw ProtocolViolation(.malformedFrame, "checksum field must be zero when the checksum flag is clear")
        }
    }
}

/// A connection-fatal protocol error: the receiver answers with an error frame and closes.
public struct ProtocolViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: ValueMap

    public init(_ code: ErrorCode, _ message: String, details: ValueMap = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code.name): \(message)" }

    public var errorBody: ErrorBody {
        ErrorBody(code: code, flags: code.defaultFlags.union(.connectionFatal), message: message, details: details)
    }
}
