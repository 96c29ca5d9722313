// Incremental frame decoder: bytes go in as they arrive, whole frames come out. `nextFrame`
// returns nil when more bytes are needed and throws ProtocolViolation for bytes that can never
// form a valid frame. It never allocates a body before the header has been validated.

public struct FrameDecoder: Sendable {
    /// The body limit in force; the connection raises it after authentication.
    public var bodyBytesMax: Int
    public var checksumsEnabled: Bool

    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(bodyBytesMax: Int, checksumsEnabled: Bool = false) {
        self.bodyBytesMax = bodyBytesMax
        self.checksumsEnabled = checksumsEnabled
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    public mutating func nextFrame() throws(ProtocolViolation) -> Frame? {
        guard bufferedByteCount >= FrameHeader.byteCount else { return nil }
        let header = peekHeader()
        try header.validate(bodyBytesMax: bodyBytesMax, checksumsEnabled: checksumsEnabled)
        let frameLength = FrameHeader.byteCount + Int(header.bodyLength)
        guard bufferedByteCount >= frameLength else { return nil }
        let bodyStart = readIndex + FrameHeader.byteCount
        let body = Array(buffer[bodyStart..<(bodyStart + Int(header.bodyLength))])
        readIndex += frameLength
        if header.flags.contains(.checksum) {
            let actual = CRC32C.checksum(body)
            guard actual == header.checksum else {
                throw ProtocolViolation(.checksumMismatch, "body checksum does not match the header",
                                        details: ["actual": .int(Int64(actual)), "expected": .int(Int64(header.checksum))])
            }
        }
        return Frame(header: header, body: body)
    }

    /// Takes the bytes that arrived before the frames started (used for the preface).
    public mutating func takePrefix(count: Int) -> [UInt8]? {
        guard bufferedByteCount >= count else { return nil }
        defer { readIndex += count }
        return Array(buffer[readIndex..<(readIndex + count)])
    }

    /// The first buffered bytes without consuming them.
    public func peek(count: Int) -> ArraySlice<UInt8> {
        buffer[readIndex..<(readIndex + min(count, bufferedByteCount))]
    }

    /// Reads the header fields in place; the caller has checked that 24 bytes are buffered.
    /// (Hot path: no intermediate array.)
    private func peekHeader() -> FrameHeader {
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress! + readIndex
            return FrameHeader(
                bodyLength: UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)),
                opcode: Opcode(rawValue: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt16.self))),
                flags: FrameFlags(rawValue: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 6, as: UInt16.self))),
                requestID: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                timeoutMilliseconds: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
                checksum: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        }
    }

    /// Drops consumed bytes once they are at least half the buffer, so appends stay amortised O(1).
    private mutating func compactIfWorthIt() {
        if readIndex > 0 && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
