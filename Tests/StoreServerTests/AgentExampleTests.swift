// The Swift agent example (examples/swift/AgentExample) run as a user runs it, against a server in
// process: stopped after its first agent, resumed by a second process from the newest checkpoint
// on a new server over the same backends, and run once more to see its recall served from the
// cache.
import XCTest
import Foundation
import StoreClient
import StoreServerCore
import WireProtocol

final class AgentExampleTests: XCTestCase {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    /// The example's default query and the package its recall must find.
    static let expectedPackage = "libzonemaster-perl"

    /// Runs agent-example (built next to the test bundle) off the cooperative pool: the server
    /// under test runs in this process and needs those threads while the example waits on it.
    static func runExample(_ arguments: [String]) async throws -> Outcome {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("agent-example")
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = binary
                process.arguments = arguments
                let output = Pipe()
                // Errors go to a file: reading two pipes would need a second reader thread.
                let errorsURL = FileManager.default.temporaryDirectory
                    .appendingPathComponent("agent-example-\(UUID().uuidString).err")
                do {
                    _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)  // FileHandle below reports a failure
                    let errors = try FileHandle(forWritingTo: errorsURL)
                    defer { try? errors.close() }  // closing our copy of a file we only wrote to; nothing to report
                    process.standardOutput = output
                    process.standardError = errors
                    try process.run()
                    let outputData = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    let errorData = try Data(contentsOf: errorsURL)
                    try FileManager.default.removeItem(at: errorsURL)
                    continuation.resume(returning: Outcome(status: process.terminationStatus,
                                                           output: String(decoding: outputData, as: UTF8.self),
                                                           errors: String(decoding: errorData, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    func testStopResumeOnANewServerAndCachedRecall() async throws {
        let firstServer = try await BackendFixture.server()
        let first = try await Self.runExample(["--port", String(firstServer.port), "--stop-after", "researcher"])
        await firstServer.shutdown()
        XCTAssertEqual(first.status, 0, first.output + first.errors)
        XCTAssertTrue(first.output.contains("stopped after researcher"), first.output)
        XCTAssertTrue(first.output.contains("  1. \(Self.expectedPackage) (score"), first.output)
        let threadLine = try XCTUnwrap(first.output.split(separator: "\n").first { $0.hasPrefix("to resume: ") })
        let threadID = String(try XCTUnwrap(threadLine.split(separator: " ").last))

        let server = try await BackendFixture.server()
        let port = String(server.port)
        let second = try await Self.runExample(["--port", port, "--resume", threadID])
        XCTAssertEqual(second.status, 0, second.output + second.errors)
        XCTAssertTrue(second.output.contains("resuming thread \(threadID) from checkpoint step-0001 (next: writer)"), second.output)
        XCTAssertTrue(second.output.contains("already loaded"), second.output)
        XCTAssertTrue(second.output.contains("finished thread \(threadID): approved and published"), second.output)
        XCTAssertTrue(second.output.contains("checkpoints: 4 (step-0000 -> step-0001 -> step-0002 -> step-0003)"), second.output)

        let client = try await StoreClient.connect(to: ClientConfiguration(port: server.port))
        let executions = try await client.executions(conversationID: threadID)
        XCTAssertEqual(executions.map(\.agentName), ["researcher", "writer", "reviewer"])
        XCTAssertEqual(executions.map(\.status), [.completed, .completed, .completed])
        XCTAssertTrue(executions.allSatisfy { $0.tokensUsed > 0 && $0.durationMilliseconds != nil })
        guard case .list(let recalled)? = executions.first?.output else { return XCTFail("researcher output is not a list") }
        XCTAssertEqual(recalled.first, .string(Self.expectedPackage))
        let note = try await client.memory(namespace: ["notes", threadID], key: "best-match")
        XCTAssertTrue(note?.value.contains(Self.expectedPackage) ?? false, "\(String(describing: note))")
        await client.close()

        let third = try await Self.runExample(["--port", port])
        XCTAssertEqual(third.status, 0, third.output + third.errors)
        XCTAssertTrue(third.output.contains("cache: hit"), third.output)
        await server.shutdown()

        let unknown = try await Self.runExample(["--port", port, "--query", "not a query with a vector"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.errors.contains("no precomputed embedding"), unknown.errors)
        let usage = try await Self.runExample(["--frobnicate"])
        XCTAssertEqual(usage.status, 2)
    }
}
