// The cache and conversations vectors (Tests/Vectors/cache.json, conversations.json) in both
// directions: each valid body decodes to the message its JSON describes and that message encodes
// to exactly the same bytes; each invalid body fails to decode, naming the field.
import Foundation
import XCTest
import WireProtocol

final class DomainVectorTests: XCTestCase {
    private func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: VectorFiles.directory.appendingPathComponent(name))
        return try VectorFiles.cast(try JSONSerialization.jsonObject(with: data), [String: Any].self)
    }

    func testCacheVectors() throws { try check("cache.json") }
    func testConversationVectors() throws { try check("conversations.json") }

    private func check(_ file: String) throws {
        let vectors = try load(file)
        let valid = try VectorFiles.cast(vectors["valid"], [[String: Any]].self)
        XCTAssertFalse(valid.isEmpty)
        for vector in valid {
            let name = vector["name"] as? String ?? "?"
            let bytes = try VectorFiles.bytes(vector)
            let decoded = try VectorFiles.cast(vector["decoded"], [String: Any].self)
            let headerJSON = try VectorFiles.cast(decoded["header"], [String: Any].self)
            let body = Array(bytes.dropFirst(FrameHeader.byteCount))
            let header = try VectorFiles.header(headerJSON, bodyLength: body.count)
            var headerWriter = ByteWriter()
            header.write(into: &headerWriter)
            XCTAssertEqual(Array(bytes.prefix(FrameHeader.byteCount)), headerWriter.bytes, name)
            let message = try VectorFiles.cast(decoded["message"], String.self)
            let expected = try Self.message(message, decoded["body"])
            XCTAssertEqual(expected.encodedBody, body, "\(name): encoding")
            let roundTrip = try Self.decode(message, body)
            XCTAssertEqual(AnyHashable(roundTrip), AnyHashable(expected), "\(name): decoding")
        }
        let invalid = try VectorFiles.cast(vectors["invalid"], [[String: Any]].self)
        for vector in invalid {
            let name = vector["name"] as? String ?? "?"
            let kind = try VectorFiles.cast(vector["kind"], String.self)
            do {
                _ = try Self.decode(kind, try VectorFiles.bytes(vector))
                XCTFail("\(name) decoded")
            } catch let error as WireDecodingError {
                XCTAssertEqual(error.field, vector["field"] as? String, name)
            }
        }
    }

    private static func decode(_ message: String, _ body: [UInt8]) throws -> any WireMessage & Hashable {
        switch message {
        case "cache_get_request": try CacheGetRequest.decode(body: body)
        case "cache_get_response": try CacheGetResponse.decode(body: body)
        case "cache_set_request": try CacheSetRequest.decode(body: body)
        case "cache_delete_request": try CacheDeleteRequest.decode(body: body)
        case "cache_clear_request": try CacheClearRequest.decode(body: body)
        case "cache_count_response": try CacheCountResponse.decode(body: body)
        case "empty": try EmptyMessage.decode(body: body)
        case "conversation_create_request": try ConversationCreateRequest.decode(body: body)
        case "conversation_record": try ConversationRecord.decode(body: body)
        case "id_request": try IDRequest.decode(body: body)
        case "conversation_update_request": try ConversationUpdateRequest.decode(body: body)
        case "conversation_delete_response": try ConversationDeleteResponse.decode(body: body)
        case "conversation_list_request": try ConversationListRequest.decode(body: body)
        case "conversation_list_response": try ConversationListResponse.decode(body: body)
        case "execution_create_request": try ExecutionCreateRequest.decode(body: body)
        case "execution_record": try ExecutionRecord.decode(body: body)
        case "execution_complete_request": try ExecutionCompleteRequest.decode(body: body)
        case "execution_fail_request": try ExecutionFailRequest.decode(body: body)
        case "execution_page": try ExecutionPage.decode(body: body)
        case "execution_totals_request": try ExecutionTotalsRequest.decode(body: body)
        case "execution_totals_response": try ExecutionTotalsResponse.decode(body: body)
        default: throw VectorFormatError("unknown message \(message)")
        }
    }

    // MARK: JSON form -> message

    private struct Fields {
        let json: [String: Any]
        init(_ json: Any?) throws { self.json = try VectorFiles.cast(json, [String: Any].self) }
        func string(_ key: String) throws -> String { try VectorFiles.cast(json[key], String.self) }
        func optionalString(_ key: String) throws -> String? { json[key] is NSNull ? nil : try string(key) }
        func int(_ key: String) throws -> Int { try VectorFiles.cast(json[key], Int.self) }
        func bytes(_ key: String) throws -> [UInt8] { try VectorFiles.hexBytes(json[key]) }
        func optionalBytes(_ key: String) throws -> [UInt8]? { json[key] is NSNull ? nil : try bytes(key) }
        func i64(_ key: String) throws -> Int64 {
            guard let value = Int64(try string(key)) else { throw VectorFormatError("bad i64 \(key)") }
            return value
        }
        func u64(_ key: String) throws -> UInt64 {
            guard let value = UInt64(try string(key)) else { throw VectorFormatError("bad u64 \(key)") }
            return value
        }
        func optionalI64(_ key: String) throws -> Int64? { json[key] is NSNull ? nil : try i64(key) }
        func optionalU64(_ key: String) throws -> UInt64? { json[key] is NSNull ? nil : try u64(key) }
        func value(_ key: String) throws -> Value { try VectorFiles.value(json[key]) }
        func map(_ key: String) throws -> ValueMap { try VectorFiles.valueMap(json[key]) }
        func list(_ key: String) throws -> [Any] { try VectorFiles.cast(json[key], [Any].self) }
    }

    private static func conversation(_ json: Any?) throws -> ConversationRecord {
        let f = try Fields(json)
        return ConversationRecord(id: try f.string("id"), title: try f.string("title"), userID: try f.optionalString("user_id"),
                                  createdAtMilliseconds: try f.i64("created_at_ms"),
                                  updatedAtMilliseconds: try f.i64("updated_at_ms"), metadata: try f.map("metadata"))
    }

    private static func execution(_ json: Any?) throws -> ExecutionRecord {
        let f = try Fields(json)
        guard let status = ExecutionStatus(rawValue: UInt8(try f.int("status"))) else { throw VectorFormatError("status") }
        return ExecutionRecord(
            id: try f.string("id"), conversationID: try f.string("conversation_id"), agentName: try f.string("agent_name"),
            agentType: try f.string("agent_type"), status: status, input: try f.value("input"), output: try f.value("output"),
            errorMessage: try f.optionalString("error_message"), createdAtMilliseconds: try f.i64("created_at_ms"),
            startedAtMilliseconds: try f.optionalI64("started_at_ms"), completedAtMilliseconds: try f.optionalI64("completed_at_ms"),
            durationMilliseconds: try f.optionalI64("duration_ms"), tokensUsed: try f.u64("tokens_used"),
            metadata: try f.map("metadata"))
    }

    private static func message(_ name: String, _ json: Any?) throws -> any WireMessage & Hashable {
        let f = try Fields(json)
        switch name {
        case "cache_get_request": return CacheGetRequest(key: try f.bytes("key"))
        case "cache_get_response": return CacheGetResponse(value: try f.optionalBytes("value"))
        case "cache_set_request":
            return CacheSetRequest(key: try f.bytes("key"), value: try f.bytes("value"),
                                   timeToLiveMilliseconds: try f.optionalU64("ttl_ms"))
        case "cache_delete_request":
            return CacheDeleteRequest(keys: try f.list("keys").map { try VectorFiles.hexBytes($0) })
        case "cache_clear_request": return CacheClearRequest(prefix: try f.bytes("prefix"))
        case "cache_count_response": return CacheCountResponse(count: try f.u64("count"))
        case "empty": return EmptyMessage()
        case "conversation_create_request":
            return ConversationCreateRequest(id: try f.optionalString("id"), title: try f.optionalString("title"),
                                             userID: try f.optionalString("user_id"), metadata: try f.map("metadata"))
        case "conversation_record": return try conversation(json)
        case "id_request": return IDRequest(id: try f.string("id"))
        case "conversation_update_request":
            return ConversationUpdateRequest(id: try f.string("id"), title: try f.optionalString("title"),
                                             metadata: f.json["metadata"] is NSNull ? nil : try f.map("metadata"))
        case "conversation_delete_response":
            return ConversationDeleteResponse(executionsDeleted: try f.u64("executions_deleted"))
        case "conversation_list_request":
            return ConversationListRequest(userID: try f.optionalString("user_id"), limit: UInt32(try f.int("limit")),
                                           continuation: try f.optionalBytes("continuation"))
        case "conversation_list_response":
            return ConversationListResponse(conversations: try f.list("conversations").map(conversation),
                                            continuation: try f.optionalBytes("continuation"))
        case "execution_create_request":
            return ExecutionCreateRequest(conversationID: try f.string("conversation_id"), id: try f.optionalString("id"),
                                          agentName: try f.string("agent_name"), agentType: try f.string("agent_type"),
                                          input: try f.value("input"), metadata: try f.map("metadata"),
                                          start: try VectorFiles.cast(f.json["start"], Bool.self))
        case "execution_record": return try execution(json)
        case "execution_complete_request":
            return ExecutionCompleteRequest(id: try f.string("id"), output: try f.value("output"), tokensUsed: try f.u64("tokens_used"))
        case "execution_fail_request":
            return ExecutionFailRequest(id: try f.string("id"), errorMessage: try f.string("error_message"),
                                        tokensUsed: try f.u64("tokens_used"))
        case "execution_page": return ExecutionPage(executions: try f.list("executions").map(execution))
        case "execution_totals_request":
            return ExecutionTotalsRequest(sinceMilliseconds: try f.optionalI64("since_ms"), untilMilliseconds: try f.optionalI64("until_ms"),
                                          conversationID: try f.optionalString("conversation_id"))
        case "execution_totals_response":
            return ExecutionTotalsResponse(agents: try f.list("agents").map { entry in
                let a = try Fields(entry)
                return AgentTotals(agentName: try a.string("agent_name"), executions: try a.u64("executions"),
                                   tokensUsed: try a.u64("tokens_used"), durationMilliseconds: try a.u64("duration_ms"))
            })
        default: throw VectorFormatError("unknown message \(name)")
        }
    }
}
