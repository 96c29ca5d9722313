// store-cli against a real server in process: output and exit codes.
import XCTest
import Foundation
import StoreClient
import StoreServerCore
import WireProtocol

final class CommandLineClientTests: XCTestCase {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    static func runCLI(_ arguments: [String]) throws -> Outcome {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("store-cli")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                       errors: String(decoding: errorData, as: UTF8.self))
    }

    func testPingHealthStatsAndExitCodes() async throws {
        let server = try makeTestServer()
        let port = String(server.port)
        let ping = try Self.runCLI(["-p", port, "ping"])
        XCTAssertEqual(ping.status, 0, ping.errors)
        XCTAssertTrue(ping.output.hasPrefix("PONG "), ping.output)
        let health = try Self.runCLI(["-p", port, "health"])
        XCTAssertEqual(health.status, 0)
        XCTAssertTrue(health.output.contains("status: up"), health.output)
        let stats = try Self.runCLI(["-p", port, "stats"])
        XCTAssertTrue(stats.output.contains("connections: 1"), stats.output)
        let unknown = try Self.runCLI(["-p", port, "frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.errors.contains("unknown command frobnicate"))
        await server.shutdown()
        let unreachable = try Self.runCLI(["-p", port, "ping"])
        XCTAssertEqual(unreachable.status, 3, unreachable.errors)
    }

    func testDomainCommandsAgainstRealBackends() async throws {
        let server = try await BackendFixture.server()
        let port = String(server.port)
        let client = StoreClient(configuration: ClientConfiguration(port: server.port))
        let tag = UUID().uuidString.prefix(8)

        XCTAssertEqual(try Self.runCLI(["-p", port, "cache", "set", "cli-\(tag)", "hello world", "--ttl", "60"]).output, "OK\n")
        XCTAssertEqual(try Self.runCLI(["-p", port, "cache", "get", "cli-\(tag)"]).output, "hello world\n")
        XCTAssertEqual(try Self.runCLI(["-p", port, "cache", "del", "cli-\(tag)"]).output, "(deleted 1)\n")
        XCTAssertEqual(try Self.runCLI(["-p", port, "cache", "get", "cli-\(tag)"]).output, "(nil)\n")

        let conversation = try await client.createConversation(title: "CLI \(tag)", userID: "user-\(tag)")
        _ = try await client.createExecution(ExecutionCreateRequest(conversationID: conversation.id, agentName: "researcher",
                                                                    agentType: "worker", input: .string("question")))
        let shown = try Self.runCLI(["-p", port, "conversation", conversation.id])
        XCTAssertEqual(shown.status, 0, shown.errors)
        XCTAssertTrue(shown.output.contains("\"CLI \(tag)\""), shown.output)
        XCTAssertTrue(shown.output.contains("researcher (worker)  running"), shown.output)
        let missing = try Self.runCLI(["-p", port, "conversation", UUID().uuidString.lowercased()])
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.errors.contains("not_found"), missing.errors)

        let thread = "cli-thread-\(tag)"
        for step in 0..<3 {
            try await client.putCheckpoint(CheckpointPutRequest(threadID: thread, checkpointID: "0000\(step)",
                                                                parentCheckpointID: step == 0 ? nil : "0000\(step - 1)",
                                                                checkpointType: "json", checkpoint: Array("{}".utf8),
                                                                metadata: "{\"step\":\(step)}"))
        }
        let listed = try Self.runCLI(["-p", port, "checkpoints", thread, "--limit", "2"])
        XCTAssertEqual(listed.status, 0, listed.errors)
        let ids = listed.output.split(separator: "\n").filter { $0.hasPrefix("0000") }.map { String($0.prefix(5)) }
        XCTAssertEqual(ids, ["00002", "00001"], listed.output)

        let collection = "cli-\(tag)"
        try await client.ensureMemoryCollection(collection, dimension: 3, metric: .cosine)
        _ = try await client.putMemory(MemoryPutRequest(namespace: ["cli", String(tag)], key: "near", value: "{\"name\":\"near\"}",
                                                        collection: collection, vectors: [MemoryFieldVector(field: "text", vector: [1, 0, 0])]))
        _ = try await client.putMemory(MemoryPutRequest(namespace: ["cli", String(tag)], key: "far", value: "{\"name\":\"far\"}",
                                                        collection: collection, vectors: [MemoryFieldVector(field: "text", vector: [0, 1, 0])]))
        let vectorFile = NSTemporaryDirectory() + "cli-vector-\(tag).json"
        try "[0.9, 0.1, 0]".write(toFile: vectorFile, atomically: true, encoding: .utf8)
        let searched = try Self.runCLI(["-p", port, "search", collection, vectorFile, "--prefix", "cli.\(tag)", "--limit", "2"])
        XCTAssertEqual(searched.status, 0, searched.errors)
        let keys = searched.output.split(separator: "\n").compactMap { $0.split(separator: "/").last?.split(separator: " ").first }
        XCTAssertEqual(keys, ["near", "far"], searched.output)
        let badVector = try Self.runCLI(["-p", port, "search", collection, "/nonexistent"])
        XCTAssertEqual(badVector.status, 2)
        await client.close()
        await server.shutdown()
    }
}
