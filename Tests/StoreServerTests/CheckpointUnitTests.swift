// The checkpoint domain's pure helpers, without a database: JSON text building and cleaning,
// the binary array decoder and the error translation.
import XCTest
@testable import StoreServerCore
import WireProtocol
import StoreClient
import Foundation

final class CheckpointUnitTests: XCTestCase {
    func testJSONTextQuotesAndBuildsValidJSON() throws {
        let awkward = "quote\" back\\slash\nnew\u{1}ctl ünï 🚀"
        let array = CheckpointJSON.array([awkward, ""])
        let parsed = try JSONSerialization.jsonObject(with: Data(array.utf8)) as? [String]
        XCTAssertEqual(parsed, [awkward, ""])
        let object = CheckpointJSON.object([(key: "a\"", value: "1"), (key: "b", value: awkward)])
        let parsedObject = try JSONSerialization.jsonObject(with: Data(object.utf8)) as? [String: String]
        XCTAssertEqual(parsedObject, ["a\"": "1", "b": awkward])
    }

    func testMetadataMustBeAJSONObject() {
        XCTAssertTrue(CheckpointJSON.isObject(#"{"a":[1,{"b":null}]}"#))
        for text in ["", "[]", "1", "\"s\"", "{", "null", "{\"a\":}"] {
            XCTAssertFalse(CheckpointJSON.isObject(text), text)
        }
    }

    func testNullEscapesAreRemovedOnlyWhereTheyAreEscapes() {
        XCTAssertEqual(CheckpointJSON.removingNullEscapes(#"{"a":"x\u0000y"}"#), #"{"a":"xy"}"#)
        // An escaped backslash followed by the letters u0000 is text, not a NUL.
        XCTAssertEqual(CheckpointJSON.removingNullEscapes(#"{"a":"c:\\u0000"}"#), #"{"a":"c:\\u0000"}"#)
        XCTAssertEqual(CheckpointJSON.removingNullEscapes(#"{"a":"\\\u0000"}"#), #"{"a":"\\"}"#)
        XCTAssertEqual(CheckpointJSON.removingNullEscapes(#"{"\u0000k":1}"#), #"{"k":1}"#)
    }

    func testBinaryArraysDecode() throws {
        func int32(_ value: Int32) -> [UInt8] {
            withUnsafeBytes(of: value.bigEndian) { Array($0) }
        }
        // text[] {"ab", NULL, ""}: ndim 1, has-null 1, oid 25, size 3, lower bound 1.
        let text = int32(1) + int32(1) + int32(25) + int32(3) + int32(1)
            + int32(2) + Array("ab".utf8) + int32(-1) + int32(0)
        XCTAssertEqual(try PostgresArray.strings(text), ["ab", "", ""])
        XCTAssertEqual(try PostgresArray.elements(text), [Array("ab".utf8), nil, []])
        let integers = int32(1) + int32(0) + int32(23) + int32(2) + int32(1) + int32(4) + int32(-4) + int32(4) + int32(7)
        XCTAssertEqual(try PostgresArray.int32s(integers), [-4, 7])
        XCTAssertEqual(try PostgresArray.strings(nil), [], "array_agg over no rows is NULL")
        XCTAssertEqual(try PostgresArray.strings(int32(0) + int32(0) + int32(25)), [], "an empty array")
        XCTAssertThrowsError(try PostgresArray.strings(int32(1) + int32(0) + int32(25) + int32(2) + int32(1) + int32(50)),
                             "an element longer than the cell")
        XCTAssertThrowsError(try PostgresArray.strings(int32(2) + int32(0) + int32(25)), "two dimensions")
        XCTAssertThrowsError(try PostgresArray.strings([0, 0]), "truncated header")
    }

    func testDataExceptionsFromPostgresBecomeInvalidArgument() {
        let translated = PostgresCheckpointStore.translated(.rejected(backend: "postgresql", reason: "22P02: invalid input syntax for type json"))
        XCTAssertEqual(translated, .invalidArgument(field: "metadata", reason: "22P02: invalid input syntax for type json"))
        let filter = PostgresCheckpointStore.translated(.rejected(backend: "postgresql", reason: "22P05: unsupported Unicode escape"),
                                                        field: "filter")
        XCTAssertEqual(filter, .invalidArgument(field: "filter", reason: "22P05: unsupported Unicode escape"))
        let other = BackendError.rejected(backend: "postgresql", reason: "42P01: relation does not exist")
        XCTAssertEqual(PostgresCheckpointStore.translated(other), other)
        let down = BackendError.unavailable(backend: "postgresql", reason: "gone", outcomeUnknown: true)
        XCTAssertEqual(PostgresCheckpointStore.translated(down), down)
    }
}

/// The client-facing types are Codable, so callers can persist or log them as JSON.
final class CheckpointCodableTests: XCTestCase {
    func testRecordsAndRequestsRoundTripThroughJSON() throws {
        let record = CheckpointRecord(threadID: "t", namespace: "ns", checkpointID: "c2", parentCheckpointID: "c1",
                                      checkpointType: "json", checkpoint: [1, 2, 3], metadata: #"{"step":1}"#,
                                      channelValues: [CheckpointBlob(channel: "a", version: "1", type: "json", value: [9])],
                                      pendingWrites: [CheckpointPendingWrite(taskID: "k", taskPath: "~0", index: -1,
                                                                             channel: "__error__", type: "json", value: [])])
        let decoded = try JSONDecoder().decode(CheckpointRecord.self, from: JSONEncoder().encode(record))
        XCTAssertEqual(decoded, record)
        let list = CheckpointListRequest(threadID: "t", filter: #"{"a":1}"#, limit: 3)
        XCTAssertEqual(try JSONDecoder().decode(CheckpointListRequest.self, from: JSONEncoder().encode(list)), list)
        XCTAssertEqual(try JSONDecoder().decode(CheckpointPruneStrategy.self, from: JSONEncoder().encode(CheckpointPruneStrategy.delete)),
                       .delete)
    }

    func testMetadataHelpersEncodeAndDecodeCodableValues() throws {
        struct Metadata: Codable, Equatable {
            var source: String
            var step: Int
        }
        var request = CheckpointPutRequest(threadID: "t", checkpointID: "c", checkpointType: "json", checkpoint: [])
        try request.setMetadata(Metadata(source: "loop", step: 2))
        let record = CheckpointRecord(threadID: "t", namespace: "", checkpointID: "c", parentCheckpointID: nil,
                                      checkpointType: "json", checkpoint: [], metadata: request.metadata,
                                      channelValues: [], pendingWrites: [])
        XCTAssertEqual(try record.decodedMetadata(Metadata.self), Metadata(source: "loop", step: 2))
    }
}
