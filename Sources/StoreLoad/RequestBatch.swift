// One connection's pipeline of pre-encoded request frames, sent with a single write. Encoding
// happens once before the run, so the measured loop only patches request ids and writes bytes.
import WireProtocol

struct RequestBatch {
    /// Where the request id sits inside a frame header (see FrameHeader.swift).
    private static let requestIDOffset = 8

    private(set) var bytes: [UInt8]
    /// Where each frame starts in `bytes`; frames may differ in size.
    private let frameOffsets: [Int]

    var frameCount: Int { frameOffsets.count }

    init(_ requests: [(opcode: Opcode, body: [UInt8])]) {
        var writer = ByteWriter()
        var offsets: [Int] = []
        for request in requests {
            offsets.append(writer.bytes.count)
            Frame(header: FrameHeader(bodyLength: UInt32(request.body.count), opcode: request.opcode, flags: [], requestID: 0),
                  body: request.body).append(to: &writer)
        }
        bytes = writer.bytes
        frameOffsets = offsets
    }

    /// Gives the frames the ids `first`, `first + 1`, ... (the server answers by id, and a
    /// connection must not reuse one while it is outstanding).
    mutating func assignRequestIDs(from first: UInt64) {
        for (index, offset) in frameOffsets.enumerated() {
            var id = (first + UInt64(index)).littleEndian
            withUnsafeBytes(of: &id) { raw in
                for byte in 0..<8 { bytes[offset + Self.requestIDOffset + byte] = raw[byte] }
            }
        }
    }
}
