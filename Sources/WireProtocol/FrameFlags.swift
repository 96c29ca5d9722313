// Bits of the frame header's flags field. Bits not named here are reserved and must be zero; a
// frame with a reserved bit set is malformed (so future bits can be given a meaning safely).

public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The frame answers the request with the same id (or, with id 0, the preface or a server ping).
    public static let response = FrameFlags(rawValue: 0x0001)
    /// The body is an error (only with `response`).
    public static let error = FrameFlags(rawValue: 0x0002)
    /// The message body continues in the next frame with the same request id and opcode.
    public static let moreChunks = FrameFlags(rawValue: 0x0004)
    /// A partial result of a streamed response; more responses for this id follow.
    public static let stream = FrameFlags(rawValue: 0x0008)
    /// The checksum field holds the CRC32C of the body.
    public static let checksum = FrameFlags(rawValue: 0x0010)

    public static let known: FrameFlags = [.response, .error, .moreChunks, .stream, .checksum]
    public var reservedBits: UInt16 { rawValue & ~FrameFlags.known.rawValue }
}
