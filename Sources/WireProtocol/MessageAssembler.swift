// Joins the frames of chunked messages. Frames of different requests may interleave; frames of
// one message are consecutive for its request id and share its opcode. A connection holds at
// most `bufferedBytesMax` of incomplete messages, so chunking cannot be used to make a peer
// buffer more than one maximum-size message.

/// A whole message: the header of its first frame (without `moreChunks`) and the joined body.
public struct Message: Sendable, Hashable {
    public var header: FrameHeader
    public var body: [UInt8]

    public init(header: FrameHeader, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    public var opcode: Opcode { header.opcode }
    public var flags: FrameFlags { header.flags }
    public var requestID: UInt64 { header.requestID }
}

public struct MessageAssembler: Sendable {
    public let bufferedBytesMax: Int
    private var partial: [UInt64: Message] = [:]
    public private(set) var bufferedBytes = 0

    public init(bufferedBytesMax: Int) {
        self.bufferedBytesMax = bufferedBytesMax
    }

    public var incompleteMessageCount: Int { partial.count }

    /// True while a chunked message with this id has started but not finished.
    public func isAssembling(requestID: UInt64) -> Bool { partial[requestID] != nil }

    /// Adds a frame; returns the message when the frame completes one.
    public mutating func add(_ frame: Frame) throws(ProtocolViolation) -> Message? {
        let isLast = !frame.flags.contains(.moreChunks)
        var flags = frame.flags
        flags.remove([.moreChunks, .checksum])
        guard var message = partial.removeValue(forKey: frame.requestID) else {
            if isLast {
                var header = frame.header
                header.flags = flags
                return Message(header: header, body: frame.body)
            }
            try reserve(frame.body.count)
            var header = frame.header
            header.flags = flags
            partial[frame.requestID] = Message(header: header, body: frame.body)
            return nil
        }
        guard frame.opcode == message.opcode, flags == message.flags else {
            throw ProtocolViolation(.malformedFrame, "chunk of request \(frame.requestID) changes opcode or flags mid-message")
        }
        try reserve(frame.body.count)
        message.body.append(contentsOf: frame.body)
        if isLast {
            bufferedBytes -= message.body.count
            message.header.bodyLength = UInt32(truncatingIfNeeded: message.body.count)
            return message
        }
        partial[frame.requestID] = message
        return nil
    }

    /// Drops a partly received message (its request was cancelled or timed out).
    public mutating func discard(requestID: UInt64) {
        if let message = partial.removeValue(forKey: requestID) {
            bufferedBytes -= message.body.count
        }
    }

    private mutating func reserve(_ count: Int) throws(ProtocolViolation) {
        let (total, overflow) = bufferedBytes.addingReportingOverflow(count)
        guard !overflow, total <= bufferedBytesMax else {
            throw ProtocolViolation(.frameTooLarge, "chunked messages exceed \(bufferedBytesMax) buffered bytes",
                                    details: ["limit": .int(Int64(bufferedBytesMax)), "actual": .int(Int64(clamping: total))])
        }
        bufferedBytes = total
    }
}
