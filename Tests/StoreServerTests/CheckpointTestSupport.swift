// Shared pieces of the checkpoint tests: an in-process server over the test PostgreSQL, a client
// connected to it, the pool for row counts, and builders for requests.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

struct CheckpointHarness {
    let server: Server
    let client: StoreClient
    let pool: PostgresPool
    /// Unique per test so tests never see each other's rows.
    let tag: String

    static func make() async throws -> CheckpointHarness {
        let server = try await BackendFixture.server()
        let client = try await StoreClient.connect(to: ClientConfiguration(port: server.port, defaultTimeout: .seconds(60)))
        return CheckpointHarness(server: server, client: client, pool: try await BackendFixture.backends().postgres,
                                 tag: "ck-" + UUID().uuidString.lowercased().prefix(12))
    }

    func close() async {
        await client.close()
        await server.shutdown()
    }

    func thread(_ name: String) -> String { "\(tag)-\(name)" }

    /// Rows of `table` for a thread, counted directly in PostgreSQL.
    func rowCount(_ table: String, thread: String) async throws -> Int {
        let rows = try await pool.query("SELECT count(*) FROM \(table) WHERE thread_id = $1", [.text(thread)])
        return Int(rows.int64(row: 0, column: 0) ?? -1)
    }
}

enum CheckpointFixtures {
    /// Checkpoint ids that sort in creation order, as LangGraph's uuid6 ids do.
    static func id(_ number: Int) -> String { String(format: "1ef%013d-0000-6000-8000-000000000000", number) }

    static func put(thread: String, namespace: String = "", id: String, parent: String? = nil,
                    metadata: String = "{}", versions: [(String, String)] = [], blobs: [(String, String, String)] = []) -> CheckpointPutRequest {
        CheckpointPutRequest(
            threadID: thread, namespace: namespace, checkpointID: id, parentCheckpointID: parent,
            checkpointType: "json", checkpoint: Array("{\"id\":\"\(id)\"}".utf8), metadata: metadata,
            channelVersions: versions.map { CheckpointChannelVersion(channel: $0.0, version: $0.1) },
            blobs: blobs.map { CheckpointBlob(channel: $0.0, version: $0.1, type: "json", value: Array($0.2.utf8)) })
    }

    static func write(_ index: Int32, _ channel: String, _ value: String) -> CheckpointWrite {
        CheckpointWrite(index: index, channel: channel, type: "json", value: Array(value.utf8))
    }
}

/// Asserts that `body` throws a server error with `code`, and returns that error's body.
@discardableResult
func assertServerError<T>(_ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () async throws -> T) async -> ErrorBody? {
    do {
        _ = try await body()
        XCTFail("expected \(code.name)", file: file, line: line)
    } catch let StoreClientError.server(errorBody) {
        XCTAssertEqual(errorBody.code, code, errorBody.message, file: file, line: line)
        return errorBody
    } catch {
        XCTFail("expected \(code.name), got \(error)", file: file, line: line)
    }
    return nil
}
