// Command-line options of agent-example.
import Foundation

struct Options: Sendable {
    var host = "127.0.0.1"
    var port: UInt16 = 7411
    var token: String? = ProcessInfo.processInfo.environment["STORE_TOKEN"]
    /// Where packages.jsonl and queries.jsonl live; by default examples/data next to this source.
    var dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data")
    var query = "tool to check the quality of a DNS zone"
    /// Stop after this agent's step (its checkpoint is saved), as if the process had died.
    var stopAfter: String?
    /// Continue this thread from its newest checkpoint.
    var resumeThreadID: String?

    static let usage = """
        usage: agent-example [--host H] [--port P] [--data DIR] [--query TEXT]
                             [--stop-after researcher|writer] [--resume THREAD_ID]
        A small agent team (researcher, writer, reviewer) whose state lives in agent-store:
        a checkpoint per step, a conversation with one execution per agent run, a memory
        search over Debian package descriptions and a cache of recall results.
        TEXT must be one of the query texts in examples/data/queries.jsonl (no embedding
        model runs: their vectors are precomputed). Token from STORE_TOKEN when set.
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var remaining = arguments[...]
        while let name = remaining.popFirst() {
            guard ["--host", "--port", "--data", "--query", "--stop-after", "--resume"].contains(name) else {
                throw UsageError(description: "unknown option \(name)\n\(usage)")
            }
            guard let value = remaining.popFirst() else { throw UsageError(description: "\(name) needs a value\n\(usage)") }
            switch name {
            case "--host": options.host = value
            case "--port":
                guard let port = UInt16(value) else { throw UsageError(description: "--port: not a port: \(value)") }
                options.port = port
            case "--data": options.dataDirectory = URL(fileURLWithPath: value)
            case "--query": options.query = value
            case "--stop-after":
                guard AgentTeam.steps.contains(value) else {
                    throw UsageError(description: "--stop-after: one of \(AgentTeam.steps.joined(separator: ", "))")
                }
                options.stopAfter = value
            case "--resume": options.resumeThreadID = value
            default: preconditionFailure("option \(name) listed above but not handled")
            }
        }
        return options
    }
}
