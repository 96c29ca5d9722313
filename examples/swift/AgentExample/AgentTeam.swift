// A scripted agent team (researcher, writer, reviewer) whose state lives in agent-store. Each step
// is one agent run: an execution record around it, and a checkpoint of the team's state after it.
// The "models" are deterministic functions, so the example runs offline.
import Foundation
import StoreClient
import WireProtocol

struct AgentTeam {
    /// The agents in the order the supervisor loop runs them.
    static let steps = ["researcher", "writer", "reviewer"]
    static let packagesNamespace = ["packages"]
    static let exampleNamespace = ["examples", "multi_agent"]
    /// Set once every package is stored; the same marker as the Python example, which loads the
    /// same items into the same collection, so either example can load them for both.
    static let loadMarkerKey = "packages-loaded-v1"
    /// The collection the Python example's LangGraph store names for 384-dim cosine vectors.
    static let collection = "langgraph_cosine_384"
    static let dimension = 384
    /// Puts per MEMORY_BATCH: about 2.3 KB each, so a batch stays far below the 1 MiB frame.
    static let loadBatchItems = 100
    static let recallLimit: UInt32 = 5
    /// Recall results are cached this long, so a repeated task skips the vector search.
    static let recallCacheLifetime: Duration = .seconds(600)

    enum AgentError: Error, CustomStringConvertible {
        case unknownQuery(String)
        case unreadableItem(String)

        var description: String {
            switch self {
            case .unknownQuery(let text):
                "no precomputed embedding for \(text.debugDescription): use a query text from examples/data/queries.jsonl"
            case .unreadableItem(let key): "memory item \(key) is not the JSON this example stores"
            }
        }
    }

    let client: StoreClient
    let data: SampleData

    // MARK: Memories

    /// Stores the package descriptions with their vectors unless a previous run (of either
    /// example) finished doing so. Puts replace, so an interrupted load is simply redone.
    func loadPackages() async throws {
        try await client.ensureMemoryCollection(Self.collection, dimension: Self.dimension, metric: .cosine)
        if try await client.memory(namespace: Self.exampleNamespace, key: Self.loadMarkerKey) != nil {
            print("memories: \(data.packages.count) package descriptions already loaded in \(Self.packagesNamespace)")
            return
        }
        let started = ContinuousClock.now
        for start in stride(from: 0, to: data.packages.count, by: Self.loadBatchItems) {
            let operations = data.packages[start..<min(start + Self.loadBatchItems, data.packages.count)].map { package in
                MemoryBatchOperation(.memoryPut, MemoryPutRequest(
                    namespace: Self.packagesNamespace, key: package.package,
                    value: Self.json(["package": package.package, "section": package.section, "text": package.text]),
                    collection: Self.collection, vectors: [MemoryFieldVector(field: "text", vector: package.embedding)]))
            }
            for result in try await client.memoryBatch(operations) where !result.isSuccess {
                throw StoreClientError.server(try ErrorBody.decode(body: result.body))
            }
        }
        _ = try await client.putMemory(MemoryPutRequest(namespace: Self.exampleNamespace, key: Self.loadMarkerKey,
                                                        value: Self.json(["count": data.packages.count])))
        print("memories: loaded \(data.packages.count) package descriptions into \(Self.packagesNamespace) in "
              + String(format: "%.1f s", Self.seconds(ContinuousClock.now - started)))
    }

    // MARK: Running the steps

    /// Saves the thread's first checkpoint (the input, before any agent ran).
    func start(_ state: AgentState, threadID: String) async throws {
        try await saveCheckpoint(state, threadID: threadID, agent: "input")
    }

    /// Runs the agents from `state.nextStep`, each followed by a checkpoint; stops early after
    /// `stopAfter`. Returns whether the team finished.
    func run(_ state: inout AgentState, threadID: String, stopAfter: String?) async throws -> Bool {
        while state.nextStep < Self.steps.count {
            let agent = Self.steps[state.nextStep]
            try await runStep(agent, &state, threadID: threadID)
            if agent == stopAfter { return state.nextStep == Self.steps.count }
        }
        return true
    }

    private func runStep(_ agent: String, _ state: inout AgentState, threadID: String) async throws {
        let execution = try await client.createExecution(ExecutionCreateRequest(
            conversationID: state.conversationID, agentName: agent,
            agentType: agent == "reviewer" ? "supervisor" : "worker", input: .string(state.task)))
        let output: Value
        let tokens: UInt64
        do {
            switch agent {
            case "researcher": (output, tokens) = try await research(&state, threadID: threadID)
            case "writer": (output, tokens) = write(&state)
            default: (output, tokens) = try await review(&state, threadID: threadID)
            }
            state.nextStep += 1
            try await saveCheckpoint(state, threadID: threadID, agent: agent)
        } catch {
            do {
                _ = try await client.failExecution(id: execution.id, errorMessage: "\(error)", tokensUsed: 0)
            } catch let recordError {
                // The step's own error matters more; the record stays "running" and says so.
                print("  (could not record the failure: \(recordError))")
            }
            throw error
        }
        let done = try await client.completeExecution(id: execution.id, output: output, tokensUsed: tokens)
        print("  step \(agent): execution \(done.status), \(done.durationMilliseconds ?? 0) ms, \(done.tokensUsed) tokens; checkpoint saved")
    }

    /// Recalls the packages closest in meaning to the task (cached), and saves a note.
    private func research(_ state: inout AgentState, threadID: String) async throws -> (Value, UInt64) {
        guard let query = data.queries.first(where: { $0.text == state.task }) else {
            throw AgentError.unknownQuery(state.task)
        }
        let cacheKey = Array("agent-example:recall:\(query.text)".utf8)
        if let cached = try await client.cacheGet(cacheKey) {
            state.findings = try JSONDecoder().decode([Finding].self, from: Data(cached))
            print("  cache: hit for the recall of \(query.text.debugDescription)")
        } else {
            let hits = try await client.searchMemories(MemorySearchRequest(
                namespacePrefix: Self.packagesNamespace, collection: Self.collection, query: query.embedding,
                limit: Self.recallLimit))
            state.findings = try hits.map { hit in
                guard let value = try JSONSerialization.jsonObject(with: Data(hit.item.value.utf8)) as? [String: Any],
                      let package = value["package"] as? String, let text = value["text"] as? String else {
                    throw AgentError.unreadableItem(hit.item.key)
                }
                let summary = text.components(separatedBy: ". ").first ?? text
                return Finding(package: package, score: ((hit.score ?? 0) * 1000).rounded() / 1000, summary: summary)
            }
            try await client.cacheSet(cacheKey, value: Array(try JSONEncoder().encode(state.findings)),
                                      timeToLive: Self.recallCacheLifetime)
            print("  cache: miss; searched memories and cached the result for "
                  + String(format: "%.0f s", Self.seconds(Self.recallCacheLifetime)))
        }
        let best = state.findings.first?.package ?? "nothing"
        _ = try await client.putMemory(MemoryPutRequest(
            namespace: ["notes", threadID], key: "best-match",
            value: Self.json(["note": "For '\(state.task)' the best match is \(best)"])))
        print("  saved note: best match \(best)")
        return (.list(state.findings.map { .string($0.package) }), Self.tokens(state.task) + 12 * UInt64(state.findings.count))
    }

    private func write(_ state: inout AgentState) -> (Value, UInt64) {
        let best = state.findings.first
        let others = state.findings.dropFirst().prefix(2).map(\.package).joined(separator: ", ")
        let draft = "Recommendation for '\(state.task)': install \(best?.package ?? "nothing found") (\(best?.summary ?? "")). Also worth a look: \(others)."
        state.draft = draft
        return (.string(draft), Self.tokens(state.task) + Self.tokens(draft))
    }

    /// Approves a draft that names the best finding, and publishes it.
    private func review(_ state: inout AgentState, threadID: String) async throws -> (Value, UInt64) {
        let draft = state.draft ?? ""
        state.approved = state.findings.first.map { draft.contains($0.package) } ?? false
        if state.approved {
            _ = try await client.putMemory(MemoryPutRequest(
                namespace: ["answers"], key: threadID, value: Self.json(["task": state.task, "answer": draft])))
        }
        return (.string(state.approved ? "approve" : "reject"), Self.tokens(draft))
    }

    private func saveCheckpoint(_ state: AgentState, threadID: String, agent: String) async throws {
        // Ids sort in step order, so the newest checkpoint is the one with the greatest id.
        let checkpointID = String(format: "step-%04d", state.nextStep)
        let parentID = agent == "input" ? nil : String(format: "step-%04d", state.nextStep - 1)
        try await client.putCheckpoint(CheckpointPutRequest(
            threadID: threadID, checkpointID: checkpointID, parentCheckpointID: parentID, checkpointType: "json",
            checkpoint: state.encoded(), metadata: Self.json(["source": agent == "input" ? "input" : "loop",
                                                              "step": state.nextStep, "agent": agent])))
    }

    // MARK: Helpers

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// A word count standing in for the tokens a model would have used.
    static func tokens(_ text: String) -> UInt64 {
        UInt64(text.split(whereSeparator: \.isWhitespace).count)
    }

    static func json(_ object: [String: Any]) -> String {
        do {
            return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        } catch {
            preconditionFailure("not JSON: \(object)")  // only strings and numbers are passed in
        }
    }
}
