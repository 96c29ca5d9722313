// agent-example: a small agent team using agent-store through the Swift StoreClient. See
// examples/README.md. Exit codes: 0 done (or stopped as asked), 1 failure, 2 bad usage.
import Foundation
import StoreClient
import WireProtocol

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("agent-example: \(message)\n".utf8))
    exit(status)
}

if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
    print(Options.usage)
    exit(0)
}
let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail(error.description, status: 2)
}

func runExample(_ options: Options) async throws {
    let data = try SampleData.load(from: options.dataDirectory)
    // Checked before connecting: only the query texts with precomputed vectors can be searched.
    guard options.resumeThreadID != nil || data.queries.contains(where: { $0.text == options.query }) else {
        throw AgentTeam.AgentError.unknownQuery(options.query)
    }
    let client = try await StoreClient.connect(to: ClientConfiguration(host: options.host, port: options.port, token: options.token))
    do {
        try await runTeam(options, data: data, client: client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
}

func runTeam(_ options: Options, data: SampleData, client: StoreClient) async throws {
    print("connected to agent-store at \(options.host):\(options.port)")
    let team = AgentTeam(client: client, data: data)
    try await team.loadPackages()

    var state: AgentState
    let threadID: String
    if let resumed = options.resumeThreadID {
        guard let record = try await client.checkpoint(threadID: resumed) else {
            fail("thread \(resumed) has no checkpoint", status: 1)
        }
        threadID = resumed
        state = try AgentState.decoded(record.checkpoint)
        let next = state.nextStep < AgentTeam.steps.count ? AgentTeam.steps[state.nextStep] : "nothing"
        print("resuming thread \(threadID) from checkpoint \(record.checkpointID) (next: \(next))")
    } else {
        // The thread id doubles as the conversation id (a UUID, as conversations require).
        threadID = UUID().uuidString.lowercased()
        _ = try await client.createConversation(id: threadID, title: "Find a package: \(options.query)".prefix(255).description,
                                                userID: "example-user", metadata: ["example": .string("agent-example")])
        state = AgentState(task: options.query, conversationID: threadID)
        print("new thread \(threadID) (also the conversation id), task: \(options.query.debugDescription)")
        try await team.start(state, threadID: threadID)
    }

    let finished = try await team.run(&state, threadID: threadID, stopAfter: options.stopAfter)
    print("recall: top packages for \(state.task.debugDescription):")
    for (rank, finding) in state.findings.enumerated() {
        print("  \(rank + 1). \(finding.package) (score \(finding.score)) - \(finding.summary)")
    }
    guard finished else {
        print("stopped after \(options.stopAfter ?? "?") as asked. thread: \(threadID)")
        print("to resume: swift run agent-example --resume \(threadID)")
        return
    }
    print("finished thread \(threadID): \(state.approved ? "approved and published" : "rejected")")
    let checkpoints = try await client.checkpoints(CheckpointListRequest(threadID: threadID))
    print("checkpoints: \(checkpoints.count) (\(checkpoints.map(\.checkpointID).reversed().joined(separator: " -> ")))")
    print("conversation \(threadID):")
    for execution in try await client.executions(conversationID: threadID) {
        print("  \(execution.agentName.padding(toLength: 10, withPad: " ", startingAt: 0)) \(execution.status) "
              + "\(execution.durationMilliseconds ?? 0) ms  \(execution.tokensUsed) tokens")
    }
    for totals in try await client.executionTotals(conversationID: threadID) {
        print("  totals \(totals.agentName): \(totals.executions) runs, \(totals.tokensUsed) tokens")
    }
}

do {
    try await runExample(options)
} catch {
    fail("\(error)", status: 1)
}
