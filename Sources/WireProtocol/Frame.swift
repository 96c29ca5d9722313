// One frame: header plus body, and the encoding of whole messages into one or more frames.

public struct Frame: Sendable, Hashable {
    public var header: FrameHeader
    public var body: [UInt8]

    public init(header: FrameHeader, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    public var opcode: Opcode { header.opcode }
    public var flags: FrameFlags { header.flags }
    public var requestID: UInt64 { header.requestID }

    /// The frame's bytes. `withChecksum` sets the checksum flag and field.
    public func encoded(withChecksum: Bool = false) -> [UInt8] {
        var writer = ByteWriter(capacity: FrameHeader.byteCount + body.count)
        append(to: &writer, withChecksum: withChecksum)
        return writer.bytes
    }

    public func append(to writer: inout ByteWriter, withChecksum: Bool = false) {
        var header = header
        header.bodyLength = UInt32(body.count)
        if withChecksum {
            header.flags.insert(.checksum)
            header.checksum = CRC32C.checksum(body)
        }
        header.write(into: &writer)
        writer.writeRaw(body)
    }
}

/// Splits a message body into frames of at most `bodyBytesMax` bytes each; all but the last
/// carry `moreChunks`. An empty body is one empty frame.
public enum MessageFramer {
    public static func frames(opcode: Opcode, flags: FrameFlags, requestID: UInt64,
                              timeoutMilliseconds: UInt32 = 0, body: [UInt8],
                              bodyBytesMax: Int) -> [Frame] {
        precondition(bodyBytesMax > 0, "frame body limit must be positive")
        if body.count <= bodyBytesMax {
            return [Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: flags,
                                              requestID: requestID, timeoutMilliseconds: timeoutMilliseconds),
                          body: body)]
        }
        var frames: [Frame] = []
        var start = 0
        while start < body.count {
            let end = min(start + bodyBytesMax, body.count)
            var chunkFlags = flags
            if end < body.count { chunkFlags.insert(.moreChunks) }
            frames.append(Frame(header: FrameHeader(bodyLength: UInt32(end - start), opcode: opcode, flags: chunkFlags,
                                                    requestID: requestID, timeoutMilliseconds: timeoutMilliseconds),
                                body: Array(body[start..<end])))
            start = end
        }
        return frames
    }
}
