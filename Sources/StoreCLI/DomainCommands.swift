// store-cli commands for the data domains: checkpoints, conversations, memories and the cache.
import Foundation
import StoreClient
import WireProtocol

let domainUsage = """
  checkpoints THREAD [--ns NS] [--limit N]   a thread's checkpoints, newest first
  conversation ID                            a conversation and its agent executions
  search COLLECTION VECTOR_FILE [--prefix a.b.c] [--limit N]
                                            memories nearest to the vector in the file
                                            (a JSON array or whitespace-separated floats)
  cache get KEY | cache set KEY VALUE [--ttl SECONDS] | cache del KEY...

"""

/// Splits "--name value" options from positional arguments.
struct ParsedArguments {
    var positional: [String] = []
    var options: [String: String] = [:]

    init(_ arguments: [String], known: Set<String>) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2))
                guard known.contains(name) else { throw CLIUsageError(description: "unknown option \(argument)") }
                guard index + 1 < arguments.count else { throw CLIUsageError(description: "\(argument) needs a value") }
                options[name] = arguments[index + 1]
                index += 2
            } else {
                positional.append(argument)
                index += 1
            }
        }
    }

    func integer(_ name: String) throws -> UInt32? {
        guard let text = options[name] else { return nil }
        guard let value = UInt32(text) else { throw CLIUsageError(description: "--\(name) must be a non-negative integer") }
        return value
    }
}

func runDomainCommand(_ name: String, _ arguments: [String], options: CommandLineOptions, client: StoreClient) async throws {
    switch name {
    case "checkpoints":
        let parsed = try ParsedArguments(arguments, known: ["ns", "limit"])
        guard parsed.positional.count == 1 else { throw CLIUsageError(description: "usage: checkpoints THREAD [--ns NS] [--limit N]") }
        let records = try await client.checkpoints(CheckpointListRequest(threadID: parsed.positional[0], namespace: parsed.options["ns"],
                                                                         limit: try parsed.integer("limit") ?? 20),
                                                   timeout: options.timeout)
        if records.isEmpty { print("(no checkpoints)") }
        for record in records {
            print("\(record.checkpointID)  ns=\(record.namespace.isEmpty ? "\"\"" : record.namespace)  parent=\(record.parentCheckpointID ?? "-")")
            print("    metadata: \(record.metadata)")
            print("    channels: \(record.channelValues.map(\.channel).joined(separator: ", "))  pending writes: \(record.pendingWrites.count)")
        }
    case "conversation":
        guard arguments.count == 1 else { throw CLIUsageError(description: "usage: conversation ID") }
        let conversation = try await client.conversation(id: arguments[0], timeout: options.timeout)
        print("\(conversation.id)  \"\(conversation.title)\"  user=\(conversation.userID ?? "-")")
        print("  created \(formatDate(conversation.createdAtMilliseconds))  updated \(formatDate(conversation.updatedAtMilliseconds))")
        let executions = try await client.executions(conversationID: conversation.id, timeout: options.timeout)
        if executions.isEmpty { print("  (no executions)") }
        for execution in executions {
            let duration = execution.durationMilliseconds.map { "\($0) ms" } ?? "-"
            print("  \(execution.agentName) (\(execution.agentType))  \(execution.status.name)  \(duration)  tokens=\(execution.tokensUsed)"
                  + (execution.errorMessage.map { "  error: \($0)" } ?? ""))
        }
    case "search":
        let parsed = try ParsedArguments(arguments, known: ["prefix", "limit"])
        guard parsed.positional.count == 2 else {
            throw CLIUsageError(description: "usage: search COLLECTION VECTOR_FILE [--prefix a.b] [--limit N]")
        }
        let vector = try readVector(path: parsed.positional[1])
        let prefix = parsed.options["prefix"].map { $0.split(separator: ".").map(String.init) } ?? []
        let results = try await client.searchMemories(MemorySearchRequest(namespacePrefix: prefix, collection: parsed.positional[0],
                                                                          query: vector, limit: try parsed.integer("limit") ?? 10),
                                                      timeout: options.timeout)
        if results.isEmpty { print("(no memories)") }
        for result in results {
            let score = result.score.map { String(format: "%.4f", $0) } ?? "-"
            print("\(score)  \(result.item.namespace.joined(separator: "."))/\(result.item.key)  \(result.item.value.prefix(120))")
        }
    case "cache":
        try await runCacheCommand(arguments, options: options, client: client)
    default:
        throw CLIUsageError(description: "unknown command \(name)")
    }
}

private func runCacheCommand(_ arguments: [String], options: CommandLineOptions, client: StoreClient) async throws {
    guard let action = arguments.first else { throw CLIUsageError(description: "usage: cache get|set|del ...") }
    let rest = Array(arguments.dropFirst())
    switch action {
    case "get":
        guard rest.count == 1 else { throw CLIUsageError(description: "usage: cache get KEY") }
        if let value = try await client.cacheGet(Array(rest[0].utf8), timeout: options.timeout) {
            print(String(decoding: value, as: UTF8.self))
        } else {
            print("(nil)")
        }
    case "set":
        let parsed = try ParsedArguments(rest, known: ["ttl"])
        guard parsed.positional.count == 2 else { throw CLIUsageError(description: "usage: cache set KEY VALUE [--ttl SECONDS]") }
        let ttl = try parsed.integer("ttl").map { Duration.seconds(Int($0)) }
        try await client.cacheSet(Array(parsed.positional[0].utf8), value: Array(parsed.positional[1].utf8), timeToLive: ttl,
                                  timeout: options.timeout)
        print("OK")
    case "del":
        guard !rest.isEmpty else { throw CLIUsageError(description: "usage: cache del KEY...") }
        let deleted = try await client.cacheDelete(rest.map { Array($0.utf8) }, timeout: options.timeout)
        print("(deleted \(deleted))")
    default:
        throw CLIUsageError(description: "unknown cache action \(action); use get, set or del")
    }
}

private func readVector(path: String) throws -> [Float] {
    let text: String
    do {
        text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw CLIUsageError(description: "cannot read \(path): \(error.localizedDescription)")
    }
    let numbers = text.split(whereSeparator: { "[], \n\t\r".contains($0) }).map(String.init)
    let vector = numbers.compactMap(Float.init)
    guard !vector.isEmpty, vector.count == numbers.count else {
        throw CLIUsageError(description: "\(path) must hold a JSON array or whitespace-separated floats")
    }
    return vector
}

private func formatDate(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}
