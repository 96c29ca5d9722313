// Checks every checkpoint vector (Tests/Vectors/checkpoints.json) in both directions: the bytes
// decode to the documented message and the documented message encodes to exactly those bytes;
// invalid bodies fail to decode.
import Foundation
import XCTest
import WireProtocol

final class CheckpointVectorTests: XCTestCase {
    private func load() throws -> [String: Any] {
        let data = try Data(contentsOf: VectorFiles.directory.appendingPathComponent("checkpoints.json"))
        return try VectorFiles.cast(try JSONSerialization.jsonObject(with: data), [String: Any].self)
    }

    func testValidCheckpointVectorsDecodeAndEncodeExactly() throws {
        let vectors = try VectorFiles.cast(try load()["valid"], [[String: Any]].self)
        XCTAssertGreaterThanOrEqual(vectors.count, 20)
        var opcodesSeen: Set<Opcode> = []
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            try checkFrame(hex: VectorFiles.bytes(vector), decoded: vector["decoded"], name: name, opcodesSeen: &opcodesSeen)
        }
        XCTAssertEqual(opcodesSeen, Set(Opcode.checkpointOpcodes), "every checkpoint opcode has a vector")
    }

    func testTranscriptFramesDecodeAndEncodeExactly() throws {
        var opcodesSeen: Set<Opcode> = []
        for transcript in try VectorFiles.cast(try load()["transcripts"], [[String: Any]].self) {
            for step in try VectorFiles.cast(transcript["steps"], [[String: Any]].self) {
                try checkFrame(hex: VectorFiles.bytes(step), decoded: step["decoded"], name: step["name"] as? String ?? "?",
                               opcodesSeen: &opcodesSeen)
            }
        }
    }

    func testInvalidCheckpointBodiesAreRefused() throws {
        let vectors = try VectorFiles.cast(try load()["invalid"], [[String: Any]].self)
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            XCTAssertEqual(vector["error"] as? String, "invalid_argument", name)
            let bytes = try VectorFiles.bytes(vector)
            let kind = try VectorFiles.cast(vector["kind"], String.self)
            XCTAssertThrowsError(try Self.decode(kind: kind, body: bytes), name) { error in
                XCTAssertTrue(error is WireDecodingError, "\(name): \(error)")
            }
        }
    }

    private func checkFrame(hex bytes: [UInt8], decoded json: Any?, name: String, opcodesSeen: inout Set<Opcode>) throws {
        let decoded = try VectorFiles.cast(json, [String: Any].self)
        var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.frameBodyBytesMaxDefault, checksumsEnabled: false)
        decoder.append(bytes)
        let frame = try XCTUnwrap(try decoder.nextFrame(), name)
        XCTAssertEqual(decoder.bufferedByteCount, 0, name)
        let header = try VectorFiles.header(decoded["header"], bodyLength: frame.body.count)
        XCTAssertEqual(frame.header, header, name)
        opcodesSeen.insert(header.opcode)
        let kind = try VectorFiles.cast(decoded["message"], String.self)
        let expected = try Self.message(kind: kind, fields: decoded["body"])
        // Bytes to message: the decoded value equals the documented one.
        let actual = try Self.decode(kind: kind, body: frame.body)
        XCTAssertEqual(actual, expected, name)
        // Message to bytes: the documented value encodes to exactly the vector's frame.
        let encoded = Frame(header: header, body: expected.base.encodedBody).encoded(withChecksum: false)
        XCTAssertEqual(Hex.string(encoded), Hex.string(bytes), name)
    }

    // MARK: JSON form to messages

    /// A decoded message of any checkpoint kind, comparable through its Hashable conformance.
    struct AnyMessage: Equatable, CustomStringConvertible {
        let base: any WireMessage
        let hashable: AnyHashable
        init<M: WireMessage & Hashable>(_ message: M) {
            base = message
            hashable = AnyHashable(message)
        }
        static func == (left: AnyMessage, right: AnyMessage) -> Bool { left.hashable == right.hashable }
        var description: String { "\(base)" }
    }

    static func decode(kind: String, body: [UInt8]) throws -> AnyMessage {
        switch kind {
        case "checkpoint_put": AnyMessage(try CheckpointPutRequest.decode(body: body))
        case "checkpoint_put_writes": AnyMessage(try CheckpointPutWritesRequest.decode(body: body))
        case "checkpoint_get": AnyMessage(try CheckpointGetRequest.decode(body: body))
        case "checkpoint_get_response": AnyMessage(try CheckpointGetResponse.decode(body: body))
        case "checkpoint_list": AnyMessage(try CheckpointListRequest.decode(body: body))
        case "checkpoint_records": AnyMessage(try CheckpointRecordList.decode(body: body))
        case "checkpoint_delete_thread": AnyMessage(try CheckpointDeleteThreadRequest.decode(body: body))
        case "checkpoint_delete_for_runs": AnyMessage(try CheckpointDeleteForRunsRequest.decode(body: body))
        case "checkpoint_copy_thread": AnyMessage(try CheckpointCopyThreadRequest.decode(body: body))
        case "checkpoint_prune": AnyMessage(try CheckpointPruneRequest.decode(body: body))
        case "checkpoint_count": AnyMessage(try CheckpointCountResponse.decode(body: body))
        case "empty": AnyMessage(try EmptyMessage.decode(body: body))
        case "error": AnyMessage(try ErrorBody.decode(body: body))
        default: throw VectorFormatError("unknown checkpoint message kind \(kind)")
        }
    }

    static func message(kind: String, fields json: Any?) throws -> AnyMessage {
        let fields = try VectorFiles.cast(json, [String: Any].self)
        switch kind {
        case "checkpoint_put":
            return AnyMessage(CheckpointPutRequest(
                threadID: try string(fields, "thread_id"), namespace: try string(fields, "checkpoint_ns"),
                checkpointID: try string(fields, "checkpoint_id"), parentCheckpointID: try optionalString(fields, "parent_checkpoint_id"),
                checkpointType: try string(fields, "checkpoint_type"), checkpoint: try VectorFiles.hexBytes(fields["checkpoint"]),
                metadata: try string(fields, "metadata"),
                channelVersions: try VectorFiles.cast(fields["channel_versions"], [[String]].self).map {
                    CheckpointChannelVersion(channel: $0[0], version: $0[1])
                },
                blobs: try VectorFiles.cast(fields["blobs"], [[String: Any]].self).map(blob),
                expectedLatestCheckpointID: try optionalString(fields, "expected_latest")))
        case "checkpoint_put_writes":
            return AnyMessage(CheckpointPutWritesRequest(
                threadID: try string(fields, "thread_id"), namespace: try string(fields, "checkpoint_ns"),
                checkpointID: try string(fields, "checkpoint_id"), taskID: try string(fields, "task_id"),
                taskPath: try string(fields, "task_path"),
                writes: try VectorFiles.cast(fields["writes"], [[String: Any]].self).map { write in
                    CheckpointWrite(index: Int32(try VectorFiles.cast(write["idx"], Int.self)), channel: try string(write, "channel"),
                                    type: try string(write, "type"), value: try VectorFiles.hexBytes(write["value"]))
                }))
        case "checkpoint_get":
            return AnyMessage(CheckpointGetRequest(threadID: try string(fields, "thread_id"), namespace: try string(fields, "checkpoint_ns"),
                                                   checkpointID: try optionalString(fields, "checkpoint_id")))
        case "checkpoint_get_response":
            let record = fields["record"].flatMap { $0 is NSNull ? nil : $0 }
            return AnyMessage(CheckpointGetResponse(record: try record.map { try Self.record($0) }))
        case "checkpoint_list":
            let limit = fields["limit"].flatMap { $0 is NSNull ? nil : $0 }
            return AnyMessage(CheckpointListRequest(
                threadID: try optionalString(fields, "thread_id"), namespace: try optionalString(fields, "checkpoint_ns"),
                checkpointID: try optionalString(fields, "checkpoint_id"), filter: try optionalString(fields, "filter"),
                before: try optionalString(fields, "before"), limit: try limit.map { UInt32(try VectorFiles.cast($0, Int.self)) }))
        case "checkpoint_records":
            return AnyMessage(CheckpointRecordList(records: try VectorFiles.cast(fields["records"], [Any].self).map(record)))
        case "checkpoint_delete_thread":
            return AnyMessage(CheckpointDeleteThreadRequest(threadID: try string(fields, "thread_id")))
        case "checkpoint_delete_for_runs":
            return AnyMessage(CheckpointDeleteForRunsRequest(runIDs: try VectorFiles.cast(fields["run_ids"], [String].self)))
        case "checkpoint_copy_thread":
            return AnyMessage(CheckpointCopyThreadRequest(sourceThreadID: try string(fields, "source_thread_id"),
                                                          targetThreadID: try string(fields, "target_thread_id")))
        case "checkpoint_prune":
            let raw = UInt8(try VectorFiles.cast(fields["strategy"], Int.self))
            guard let strategy = CheckpointPruneStrategy(rawValue: raw) else { throw VectorFormatError("bad strategy \(raw)") }
            return AnyMessage(CheckpointPruneRequest(threadIDs: try VectorFiles.cast(fields["thread_ids"], [String].self),
                                                     strategy: strategy))
        case "checkpoint_count":
            guard let count = UInt64(try string(fields, "count")) else { throw VectorFormatError("bad count") }
            return AnyMessage(CheckpointCountResponse(count: count))
        case "empty":
            return AnyMessage(EmptyMessage())
        case "error":
            return AnyMessage(try VectorFiles.cast(VectorFiles.message(named: "error", fields: json), ErrorBody.self))
        default:
            throw VectorFormatError("unknown checkpoint message kind \(kind)")
        }
    }

    private static func record(_ json: Any) throws -> CheckpointRecord {
        let fields = try VectorFiles.cast(json, [String: Any].self)
        return CheckpointRecord(
            threadID: try string(fields, "thread_id"), namespace: try string(fields, "checkpoint_ns"),
            checkpointID: try string(fields, "checkpoint_id"), parentCheckpointID: try optionalString(fields, "parent_checkpoint_id"),
            checkpointType: try string(fields, "checkpoint_type"), checkpoint: try VectorFiles.hexBytes(fields["checkpoint"]),
            metadata: try string(fields, "metadata"),
            channelValues: try VectorFiles.cast(fields["channel_values"], [[String: Any]].self).map(blob),
            pendingWrites: try VectorFiles.cast(fields["pending_writes"], [[String: Any]].self).map { write in
                CheckpointPendingWrite(taskID: try string(write, "task_id"), taskPath: try string(write, "task_path"),
                                       index: Int32(try VectorFiles.cast(write["idx"], Int.self)), channel: try string(write, "channel"),
                                       type: try string(write, "type"), value: try VectorFiles.hexBytes(write["value"]))
            })
    }

    private static func blob(_ fields: [String: Any]) throws -> CheckpointBlob {
        CheckpointBlob(channel: try string(fields, "channel"), version: try string(fields, "version"),
                       type: try string(fields, "type"), value: try VectorFiles.hexBytes(fields["value"]))
    }

    private static func string(_ fields: [String: Any], _ key: String) throws -> String {
        try VectorFiles.cast(fields[key], String.self)
    }

    private static func optionalString(_ fields: [String: Any], _ key: String) throws -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        return try VectorFiles.cast(value, String.self)
    }
}
