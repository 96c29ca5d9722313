// store-cli against a real server in process: output and exit codes.
import XCTest
import Foundation
import StoreServerCore

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
}
