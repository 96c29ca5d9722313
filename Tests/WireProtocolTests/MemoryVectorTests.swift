// The memories vectors (Tests/Vectors/memories.json, spec §7.4) in both directions: every valid
// frame decodes to its documented form and that form encodes to exactly the bytes; every
// invalid body is refused.
import Foundation
import XCTest
import WireProtocol

final class MemoryVectorTests: XCTestCase {
    private func file() throws -> [String: Any] {
        let data = try Data(contentsOf: VectorFiles.directory.appendingPathComponent("memories.json"))
        return try VectorFiles.cast(try JSONSerialization.jsonObject(with: data), [String: Any].self)
    }

    func testValidMemoryVectorsDecodeAndEncodeExactly() throws {
        let vectors = try VectorFiles.cast(try file()["valid"], [[String: Any]].self)
        XCTAssertGreaterThanOrEqual(vectors.count, 19)
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            let bytes = try VectorFiles.bytes(vector)
            let decoded = try VectorFiles.cast(vector["decoded"], [String: Any].self)
            let expected = try Self.message(named: try VectorFiles.cast(decoded["message"], String.self), fields: decoded["body"])
            var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.frameBodyBytesMaxDefault, checksumsEnabled: false)
            decoder.append(bytes)
            let frame = try XCTUnwrap(try decoder.nextFrame(), name)
            XCTAssertEqual(frame.header, try VectorFiles.header(decoded["header"], bodyLength: frame.body.count), name)
            let message = try VectorFiles.decodeLike(expected, body: frame.body)
            XCTAssertTrue(messagesEqual(message, expected), "\(name): decoded \(message), expected \(expected)")
            XCTAssertEqual(Hex.string(expected.encodedBody), Hex.string(frame.body), name)
        }
    }

    func testInvalidMemoryBodiesAreRefused() throws {
        let vectors = try VectorFiles.cast(try file()["invalid"], [[String: Any]].self)
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let name = vector["name"] as? String ?? "?"
            let bytes = try VectorFiles.bytes(vector)
            let type: any WireMessage.Type = switch vector["kind"] as? String {
            case "memory_put_request": MemoryPutRequest.self
            case "memory_get_request": MemoryGetRequest.self
            case "memory_batch_request": MemoryBatchRequest.self
            case "memory_search_request": MemorySearchRequest.self
            default: EmptyMessage.self
            }
            XCTAssertNotEqual(ObjectIdentifier(type), ObjectIdentifier(EmptyMessage.self), "\(name): unknown kind")
            XCTAssertThrowsError(try type.decode(body: bytes), name)
        }
    }

    // MARK: JSON form -> messages

    static func message(named name: String, fields json: Any?) throws -> any WireMessage {
        let fields = try VectorFiles.cast(json, [String: Any].self)
        switch name {
        case "memory_collection_ensure_request":
            return MemoryCollectionEnsureRequest(name: try VectorFiles.cast(fields["name"], String.self),
                                                 dimension: UInt32(try VectorFiles.cast(fields["dimension"], Int.self)),
                                                 metricByte: UInt8(try VectorFiles.cast(fields["metric"], Int.self)))
        case "memory_put_request":
            let vectors = try VectorFiles.cast(fields["vectors"], [[String: Any]].self).map { entry in
                MemoryFieldVector(field: try VectorFiles.cast(entry["field"], String.self), vector: try floats(entry["vector"]))
            }
            return MemoryPutRequest(namespace: try strings(fields["namespace"]), key: try string(fields["key"]),
                                    value: try string(fields["value"]), collection: try string(fields["collection"]),
                                    vectors: vectors, timeToLiveMilliseconds: try optionalInteger(fields["ttl_ms"]).map(UInt64.init))
        case "memory_item":
            return try item(fields)
        case "memory_get_request":
            return MemoryGetRequest(namespace: try strings(fields["namespace"]), key: try string(fields["key"]),
                                    refreshTimeToLive: try VectorFiles.cast(fields["refresh_ttl"], Bool.self))
        case "memory_get_response":
            return MemoryGetResponse(item: try (fields["item"] as? [String: Any]).map(item))
        case "memory_delete_request":
            return MemoryDeleteRequest(namespace: try strings(fields["namespace"]), key: try string(fields["key"]))
        case "memory_search_request":
            return MemorySearchRequest(namespacePrefix: try strings(fields["namespace_prefix"]),
                                       filter: fields["filter"] as? String, collection: try string(fields["collection"]),
                                       query: try fields["query"].flatMap { $0 is NSNull ? nil : try floats($0) },
                                       limit: UInt32(try VectorFiles.cast(fields["limit"], Int.self)),
                                       offset: UInt32(try VectorFiles.cast(fields["offset"], Int.self)),
                                       refreshTimeToLive: try VectorFiles.cast(fields["refresh_ttl"], Bool.self))
        case "memory_search_page":
            let items = try VectorFiles.cast(fields["items"], [[String: Any]].self).map { entry in
                MemorySearchItem(item: try item(entry), score: (entry["score"] as? NSNumber)?.doubleValue)
            }
            return MemorySearchPage(items: items)
        case "memory_list_namespaces_request":
            return MemoryListNamespacesRequest(
                prefix: try fields["prefix"].flatMap { $0 is NSNull ? nil : try strings($0) },
                suffix: try fields["suffix"].flatMap { $0 is NSNull ? nil : try strings($0) },
                maxDepth: (fields["max_depth"] as? Int).map(UInt32.init),
                limit: UInt32(try VectorFiles.cast(fields["limit"], Int.self)),
                offset: UInt32(try VectorFiles.cast(fields["offset"], Int.self)))
        case "memory_list_namespaces_response":
            return MemoryListNamespacesResponse(namespaces: try VectorFiles.cast(fields["namespaces"], [[String]].self))
        case "memory_batch_request":
            let operations = try VectorFiles.cast(fields["ops"], [[String: Any]].self).map { op in
                MemoryBatchOperation(opcode: Opcode(rawValue: UInt16(try VectorFiles.cast(op["opcode"], Int.self))),
                                     body: try VectorFiles.hexBytes(op["body"]))
            }
            return MemoryBatchRequest(operations: operations)
        case "memory_batch_response":
            let results = try VectorFiles.cast(fields["results"], [[String: Any]].self).map { result in
                MemoryBatchResult(isSuccess: try VectorFiles.cast(result["ok"], Bool.self),
                                  body: try VectorFiles.hexBytes(result["body"]))
            }
            return MemoryBatchResponse(results: results)
        default:
            return try VectorFiles.message(named: name, fields: json)
        }
    }

    private static func item(_ fields: [String: Any]) throws -> MemoryItem {
        MemoryItem(namespace: try strings(fields["namespace"]), key: try string(fields["key"]), value: try string(fields["value"]),
                   createdAtMicroseconds: try integer(fields["created_at_us"]),
                   updatedAtMicroseconds: try integer(fields["updated_at_us"]),
                   expiresAtMicroseconds: try optionalInteger(fields["expires_at_us"]))
    }

    private static func string(_ json: Any?) throws -> String { try VectorFiles.cast(json, String.self) }
    private static func strings(_ json: Any?) throws -> [String] { try VectorFiles.cast(json, [String].self) }
    private static func floats(_ json: Any?) throws -> [Float] {
        try VectorFiles.cast(json, [NSNumber].self).map { Float($0.doubleValue) }
    }
    private static func integer(_ json: Any?) throws -> Int64 {
        guard let value = Int64(try string(json)) else { throw VectorFormatError("bad integer \(String(describing: json))") }
        return value
    }
    private static func optionalInteger(_ json: Any?) throws -> Int64? {
        guard let json, !(json is NSNull) else { return nil }
        return try integer(json)
    }
}
