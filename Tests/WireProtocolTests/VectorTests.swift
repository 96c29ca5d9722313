// Runs every vector in Tests/Vectors in both directions: bytes decode to the documented form,
// and the documented form encodes to exactly those bytes; invalid bytes give the documented error.
import XCTest
import WireProtocol

final class VectorTests: XCTestCase {
    func testValidVectorsDecodeAndEncodeExactly() throws {
        let vectors = try VectorFiles.load("valid.json")
        XCTAssertGreaterThan(vectors.count, 20)
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            let bytes = try VectorFiles.bytes(vector)
            switch vector["kind"] as? String {
            case "preface":
                let decoded = try VectorFiles.cast(vector["decoded"], [String: Int].self)
                let expected = Preface(minVersion: UInt16(decoded["min_version"]!), maxVersion: UInt16(decoded["max_version"]!),
                                       features: PrefaceFeatures(rawValue: UInt32(decoded["features"]!)))
                XCTAssertEqual(try Preface.decode(bytes), expected, name)
                XCTAssertEqual(expected.encoded, bytes, name)
            case "frame":
                try checkFrame(vector, bytes: bytes, name: name)
            case "value":
                let expected = try VectorFiles.value(vector["decoded"])
                var reader = ByteReader(bytes)
                XCTAssertEqual(try reader.readValue(), expected, name)
                XCTAssertTrue(reader.isAtEnd, name)
                var writer = ByteWriter()
                writer.writeValue(expected)
                XCTAssertEqual(writer.bytes, bytes, name)
            case "vector":
                let expected = try VectorFiles.cast(vector["decoded"], [Double].self).map(Float.init)
                var reader = ByteReader(bytes)
                XCTAssertEqual(try reader.readVector(dimensionMax: 4096), expected, name)
                var writer = ByteWriter()
                writer.writeVector(expected)
                XCTAssertEqual(writer.bytes, bytes, name)
            case "header":
                let expected = try VectorFiles.header(vector["decoded"], bodyLength: 0)
                var reader = ByteReader(bytes)
                let header = try FrameHeader.read(from: &reader)
                XCTAssertEqual(header, expected, name)
                XCTAssertNoThrow(try header.validate(bodyBytesMax: vector["limit"] as! Int, checksumsEnabled: false), name)
                var writer = ByteWriter()
                expected.write(into: &writer)
                XCTAssertEqual(writer.bytes, bytes, name)
            case let kind:
                XCTFail("\(name): unknown kind \(String(describing: kind))")
            }
        }
    }

    private func checkFrame(_ vector: [String: Any], bytes: [UInt8], name: String) throws {
        let decoded = try VectorFiles.cast(vector["decoded"], [String: Any].self)
        let expectedMessage = try VectorFiles.message(named: decoded["message"] as! String, fields: decoded["body"])
        let checksums = vector["checksums"] as? Bool ?? false
        var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.frameBodyBytesMaxDefault, checksumsEnabled: checksums)
        decoder.append(bytes)
        let frame = try XCTUnwrap(try decoder.nextFrame(), name)
        XCTAssertEqual(decoder.bufferedByteCount, 0, name)
        let expectedHeader = try VectorFiles.header(decoded["header"], bodyLength: frame.body.count)
        XCTAssertEqual(frame.header, expectedHeader, name)
        let message = try VectorFiles.decodeLike(expectedMessage, body: frame.body)
        XCTAssertTrue(messagesEqual(message, expectedMessage), "\(name): decoded \(message), expected \(expectedMessage)")
        // Encode from the decoded form.
        var header = expectedHeader
        header.flags.remove(.checksum)
        header.checksum = 0
        let encoded = Frame(header: header, body: expectedMessage.encodedBody).encoded(withChecksum: checksums)
        XCTAssertEqual(Hex.string(encoded), Hex.string(bytes), name)
    }

    func testInvalidVectorsGiveTheDocumentedError() throws {
        let vectors = try VectorFiles.load("invalid.json")
        XCTAssertGreaterThan(vectors.count, 15)
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            let bytes = try VectorFiles.bytes(vector)
            let expected = vector["error"] as! String
            switch vector["kind"] as? String {
            case "preface":
                XCTAssertThrowsError(try Preface.decode(Array(bytes.prefix(Preface.byteCount))), name) { error in
                    XCTAssertEqual((error as? ProtocolViolation)?.code.name, expected, name)
                }
                // The first byte alone is enough to reject foreign protocols.
                if bytes.first != Preface.magic.first {
                    XCTAssertThrowsError(try Preface.checkPrefix(bytes.prefix(1)), name)
                }
            case "frame":
                var decoder = FrameDecoder(bodyBytesMax: vector["limit"] as! Int,
                                           checksumsEnabled: vector["checksums"] as? Bool ?? false)
                decoder.append(bytes)
                XCTAssertThrowsError(try decoder.nextFrame(), name) { error in
                    XCTAssertEqual((error as? ProtocolViolation)?.code.name, expected, name)
                }
            case "value":
                XCTAssertEqual(expected, "invalid_argument")
                var reader = ByteReader(bytes)
                XCTAssertThrowsError(try reader.readValue(), name) { XCTAssertTrue($0 is WireDecodingError, name) }
            case "vector":
                var reader = ByteReader(bytes)
                XCTAssertThrowsError(try reader.readVector(dimensionMax: 4096), name) { XCTAssertTrue($0 is WireDecodingError, name) }
            case "auth_request":
                XCTAssertThrowsError(try AuthRequest.decode(body: bytes), name) { XCTAssertTrue($0 is WireDecodingError, name) }
            case let kind:
                XCTFail("\(name): unknown kind \(String(describing: kind))")
            }
        }
    }

    func testTranscriptsDecodeWhetherFedWholeOrByteByByte() throws {
        for transcript in try VectorFiles.load("transcripts.json") {
            let steps = try VectorFiles.cast(transcript["steps"], [[String: Any]].self)
            for direction in ["client", "server"] {
                var stream: [UInt8] = []
                var expectedFrames: [(FrameHeader, any WireMessage)] = []
                for step in steps where step["direction"] as? String == direction {
                    var bytes = try VectorFiles.bytes(step)
                    let decoded = try VectorFiles.cast(step["decoded"], [String: Any].self)
                    if decoded["header"] == nil {
                        // The preface precedes the frames.
                        XCTAssertEqual(try Preface.decode(bytes).minVersion, 1)
                        bytes = []
                    } else {
                        let message = try VectorFiles.message(named: decoded["message"] as! String, fields: decoded["body"])
                        expectedFrames.append((try VectorFiles.header(decoded["header"], bodyLength: 0), message))
                    }
                    stream += bytes
                }
                for chunkSize in [1, 7, stream.count + 1] {
                    var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.frameBodyBytesMaxDefault)
                    var frames: [Frame] = []
                    var offset = 0
                    while offset < stream.count {
                        decoder.append(stream[offset..<min(offset + chunkSize, stream.count)])
                        offset += chunkSize
                        while let frame = try decoder.nextFrame() { frames.append(frame) }
                    }
                    XCTAssertEqual(frames.count, expectedFrames.count)
                    for (frame, (header, message)) in zip(frames, expectedFrames) {
                        XCTAssertEqual(frame.opcode, header.opcode)
                        XCTAssertEqual(frame.requestID, header.requestID)
                        XCTAssertTrue(messagesEqual(try VectorFiles.decodeLike(message, body: frame.body), message))
                    }
                }
            }
        }
    }
}
