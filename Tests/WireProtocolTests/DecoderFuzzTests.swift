// A seeded random fuzz loop over the frame decoder, chunk assembler and every body decoder, and
// a check that the decoder gives the same frames however the bytes are split.
import XCTest
import WireProtocol

/// SplitMix64: small, fast and reproducible from a printed seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class DecoderFuzzTests: XCTestCase {
    private func corpus() throws -> [[UInt8]] {
        try VectorFiles.load("valid.json").filter { $0["kind"] as? String == "frame" }.map(VectorFiles.bytes)
    }

    func testMutatedFramesNeverTrapOrExceedLimits() throws {
        let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("DecoderFuzzTests seed=\(seed) (set FUZZ_SEED to reproduce)")
        var random = SeededGenerator(seed: seed)
        let seeds = try corpus()
        let bodyLimit = 4096
        let iterations = 100_000
        var framesDecoded = 0
        var violations = 0
        for _ in 0..<iterations {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            mutate(&bytes, using: &random)
            var decoder = FrameDecoder(bodyBytesMax: bodyLimit, checksumsEnabled: random.next() % 2 == 0)
            var assembler = MessageAssembler(bufferedBytesMax: 3 * bodyLimit)
            decoder.append(bytes)
            do {
                while let frame = try decoder.nextFrame() {
                    framesDecoded += 1
                    XCTAssertLessThanOrEqual(frame.body.count, bodyLimit)
                    if let message = try assembler.add(frame) {
                        XCTAssertLessThanOrEqual(message.body.count, 3 * bodyLimit)
                        decodeEveryWay(message.body)
                    }
                    XCTAssertLessThanOrEqual(assembler.bufferedBytes, 3 * bodyLimit)
                }
            } catch {
                violations += 1
            }
            XCTAssertLessThanOrEqual(decoder.bufferedByteCount, bytes.count)
        }
        // Both outcomes must be common, or the mutations are not exercising the decoder.
        XCTAssertGreaterThan(framesDecoded, iterations / 10)
        XCTAssertGreaterThan(violations, iterations / 20)
    }

    private func decodeEveryWay(_ body: [UInt8]) {
        // Errors are the expected outcome for random bytes; the test is that none of these traps.
        _ = try? Hello.decode(body: body)
        _ = try? ErrorBody.decode(body: body)
        _ = try? AuthRequest.decode(body: body)
        _ = try? GoAway.decode(body: body)
        _ = try? HealthResponse.decode(body: body)
        var reader = ByteReader(body)
        _ = try? reader.readValue()
        var vectorReader = ByteReader(body)
        _ = try? vectorReader.readVector(dimensionMax: 4096)
    }

    private func mutate(_ bytes: inout [UInt8], using random: inout SeededGenerator) {
        let mutations = 1 + Int(random.next() % 4)
        for _ in 0..<mutations {
            guard !bytes.isEmpty else { bytes = [UInt8(truncatingIfNeeded: random.next())]; continue }
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 6 {
            case 0: bytes[position] ^= UInt8(1 << (random.next() % 8))
            case 1: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 2: bytes.removeSubrange(position..<min(bytes.count, position + 1 + Int(random.next() % 8)))
            case 3: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 4:
                // Interesting lengths written over a 4-byte field.
                let lengths: [UInt32] = [0, 1, 0x7F, 0xFF, 0x1000, 0x1001, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF]
                var value = lengths[Int(random.next() % UInt64(lengths.count))].littleEndian
                withUnsafeBytes(of: &value) { raw in
                    for offset in 0..<4 where position + offset < bytes.count { bytes[position + offset] = raw[offset] }
                }
            default: bytes.append(contentsOf: bytes.prefix(Int(random.next() % 32)))
            }
        }
    }

    func testDecoderGivesSameFramesForAnySplit() throws {
        let stream = try corpus().joined()
        let expected = try decodeAll([Array(stream)])
        XCTAssertEqual(expected.count, try corpus().count)
        XCTAssertEqual(try decodeAll(stream.map { [$0] }), expected, "one byte at a time")
        var random = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            var pieces: [[UInt8]] = []
            var offset = 0
            let bytes = Array(stream)
            while offset < bytes.count {
                let size = 1 + Int(random.next() % 300)
                pieces.append(Array(bytes[offset..<min(bytes.count, offset + size)]))
                offset += size
            }
            XCTAssertEqual(try decodeAll(pieces), expected, "random split")
        }
    }

    private func decodeAll(_ pieces: [[UInt8]]) throws -> [Frame] {
        // The corpus includes a checksummed frame; checksums enabled accepts frames with and without.
        var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.frameBodyBytesMaxDefault, checksumsEnabled: true)
        var frames: [Frame] = []
        for piece in pieces {
            decoder.append(piece)
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        return frames
    }

    func testChunkedMessagesJoinAndInterleave() throws {
        let big = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let first = MessageFramer.frames(opcode: .ping, flags: [], requestID: 1, body: big, bodyBytesMax: 1000)
        let second = MessageFramer.frames(opcode: .health, flags: [], requestID: 2, body: Array(big.prefix(2500)), bodyBytesMax: 1000)
        XCTAssertEqual(first.count, 10)
        XCTAssertTrue(first.dropLast().allSatisfy { $0.flags.contains(.moreChunks) })
        XCTAssertFalse(first.last!.flags.contains(.moreChunks))
        var assembler = MessageAssembler(bufferedBytesMax: 20_000)
        var messages: [Message] = []
        var queue = Array(zip(first, second).flatMap { [$0, $1] })
        queue += first.dropFirst(second.count)
        for frame in queue {
            if let message = try assembler.add(frame) { messages.append(message) }
        }
        XCTAssertEqual(messages.map(\.requestID), [2, 1])
        XCTAssertEqual(messages[1].body, big)
        XCTAssertEqual(messages[0].body, Array(big.prefix(2500)))
        XCTAssertEqual(assembler.bufferedBytes, 0)
    }

    func testChunkedMessagesOverTheBufferLimitAreRefused() {
        let frames = MessageFramer.frames(opcode: .ping, flags: [], requestID: 1, body: [UInt8](repeating: 1, count: 5000), bodyBytesMax: 1000)
        var assembler = MessageAssembler(bufferedBytesMax: 3000)
        XCTAssertThrowsError(try frames.forEach { _ = try assembler.add($0) }) { error in
            XCTAssertEqual((error as? ProtocolViolation)?.code, .frameTooLarge)
        }
    }

    func testChunkChangingOpcodeIsMalformed() throws {
        var frames = MessageFramer.frames(opcode: .ping, flags: [], requestID: 1, body: [UInt8](repeating: 1, count: 2000), bodyBytesMax: 1000)
        frames[1].header.opcode = .health
        var assembler = MessageAssembler(bufferedBytesMax: 3000)
        XCTAssertNil(try assembler.add(frames[0]))
        XCTAssertThrowsError(try assembler.add(frames[1])) { XCTAssertEqual(($0 as? ProtocolViolation)?.code, .malformedFrame) }
    }

    func testLimitsFitTogether() {
        let limits = ProtocolLimits()
        // The largest vector must fit one frame with room for its header fields.
        XCTAssertLessThan(4 + limits.vectorDimensionMax * 4 + 1024, limits.frameBodyBytesMax)
        XCTAssertGreaterThanOrEqual(limits.messageBytesMax, limits.frameBodyBytesMax)
        XCTAssertLessThan(ProtocolLimits.unauthenticatedFrameBodyBytesMax, limits.frameBodyBytesMax)
        // An auth request with a long token fits before authentication.
        let auth = AuthRequest(credential: [UInt8](repeating: 0x41, count: 1024)).encodedBody
        XCTAssertLessThan(auth.count, ProtocolLimits.unauthenticatedFrameBodyBytesMax)
        XCTAssertLessThanOrEqual(limits.defaultTimeoutMilliseconds, limits.timeoutMillisecondsMax)
        XCTAssertEqual(limits.effectiveTimeoutMilliseconds(requested: 0), limits.defaultTimeoutMilliseconds)
        XCTAssertEqual(limits.effectiveTimeoutMilliseconds(requested: .max), limits.timeoutMillisecondsMax)
    }

    func testValueMapKeepsKeysInByteOrder() {
        var map: ValueMap = ["b": .int(1), "a": .int(2), "é": .null, "c": .bool(true)]
        XCTAssertEqual(map.keys, ["a", "b", "c", "é"])
        map["b"] = nil
        XCTAssertEqual(map.keys, ["a", "c", "é"])
        var writer = ByteWriter()
        writer.writeValue(.map(map))
        var reader = ByteReader(writer.bytes)
        XCTAssertEqual(try reader.readValue(), .map(map))
    }
}
