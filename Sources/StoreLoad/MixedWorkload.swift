// The mixed agent workload: N clients, each on its own connection, running checkpoint put/get,
// cache get/set and memory search in fixed proportions for a fixed time. Reports ops/s and
// p50/p99/p999 latency per operation.
import Foundation
import StoreClient
import WireProtocol

struct MixedWorkload {
    enum Operation: String, CaseIterable {
        case checkpointPut = "checkpoint_put"
        case checkpointGet = "checkpoint_get"
        case cacheSet = "cache_set"
        case cacheGet = "cache_get"
        case memorySearch = "memory_search"
    }

    /// Share of each operation, in percent: an agent step reads and writes its checkpoint,
    /// hits the cache more often than it writes it, and recalls memories now and then.
    static let mix: [(Operation, Int)] = [
        (.checkpointPut, 25), (.checkpointGet, 25), (.cacheSet, 15), (.cacheGet, 25), (.memorySearch, 10),
    ]
    /// Memories loaded before the run, searched by every client.
    static let memoryCount = 2000
    static let dimension = 384
    static let collection = "store-load"

    let options: LoadOptions
    let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    func run() async throws {
        let configuration = ClientConfiguration(host: options.host, port: options.port, token: options.token,
                                                defaultTimeout: .seconds(30))
        let setup = try await StoreClient.connect(to: configuration)
        try await loadMemories(setup)
        await setup.close()

        let warmupEnd = ContinuousClock.now + .milliseconds(Int(options.warmupSeconds * 1000))
        let end = warmupEnd + .milliseconds(Int(options.seconds * 1000))
        let results = try await withThrowingTaskGroup(of: [Operation: [UInt64]].self) { group in
            for clientIndex in 0..<options.connections {
                group.addTask {
                    let client = try await StoreClient.connect(to: configuration)
                    defer { Task { await client.close() } }
                    return try await runClient(client, index: clientIndex, measureFrom: warmupEnd, until: end)
                }
            }
            var merged: [Operation: [UInt64]] = [:]
            for try await partial in group {
                for (operation, latencies) in partial { merged[operation, default: []] += latencies }
            }
            return merged
        }
        report(results)
    }

    private func loadMemories(_ client: StoreClient) async throws {
        try await client.ensureMemoryCollection(Self.collection, dimension: Self.dimension, metric: .cosine)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<Self.memoryCount {
            let vector = (0..<Self.dimension).map { _ in Float.random(in: -1...1, using: &generator) }
            _ = try await client.putMemory(MemoryPutRequest(
                namespace: ["store-load", runID], key: "memory-\(index)", value: "{\"index\":\(index)}",
                collection: Self.collection, vectors: [MemoryFieldVector(field: "text", vector: vector)]))
        }
    }

    private func runClient(_ client: StoreClient, index: Int, measureFrom: ContinuousClock.Instant,
                           until end: ContinuousClock.Instant) async throws -> [Operation: [UInt64]] {
        var latencies: [Operation: [UInt64]] = [:]
        var generator = SystemRandomNumberGenerator()
        let threadID = "store-load-\(runID)-\(index)"
        var step = 0
        let blob = [UInt8](repeating: 0x42, count: 1024)
        let cacheValue = [UInt8](repeating: 0x43, count: 256)
        // Every thread starts with one checkpoint, so reads always find one.
        try await client.putCheckpoint(checkpoint(threadID: threadID, step: step, blob: blob))
        while ContinuousClock.now < end {
            let operation = pick(&generator)
            let started = ContinuousClock.now
            switch operation {
            case .checkpointPut:
                step += 1
                try await client.putCheckpoint(checkpoint(threadID: threadID, step: step, blob: blob))
            case .checkpointGet:
                _ = try await client.checkpoint(threadID: threadID)
            case .cacheSet:
                try await client.cacheSet(Array("store-load:\(index):\(Int.random(in: 0..<100, using: &generator))".utf8), value: cacheValue)
            case .cacheGet:
                _ = try await client.cacheGet(Array("store-load:\(index):\(Int.random(in: 0..<100, using: &generator))".utf8))
            case .memorySearch:
                let query = (0..<Self.dimension).map { _ in Float.random(in: -1...1, using: &generator) }
                _ = try await client.searchMemories(MemorySearchRequest(namespacePrefix: ["store-load", runID],
                                                                       collection: Self.collection, query: query, limit: 10))
            }
            if started >= measureFrom {
                let elapsed = ContinuousClock.now - started
                let nanoseconds = UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
                latencies[operation, default: []].append(nanoseconds)
            }
        }
        return latencies
    }

    private func checkpoint(threadID: String, step: Int, blob: [UInt8]) -> CheckpointPutRequest {
        let id = String(format: "%012d", step)
        let version = String(format: "%08d.0", step)
        return CheckpointPutRequest(threadID: threadID, checkpointID: id,
                                    parentCheckpointID: step == 0 ? nil : String(format: "%012d", step - 1),
                                    checkpointType: "json", checkpoint: Array("{\"step\":\(step)}".utf8),
                                    metadata: "{\"step\":\(step),\"source\":\"loop\"}",
                                    channelVersions: [CheckpointChannelVersion(channel: "messages", version: version)],
                                    blobs: [CheckpointBlob(channel: "messages", version: version, type: "bytes", value: blob)])
    }

    private func pick(_ generator: inout SystemRandomNumberGenerator) -> Operation {
        var roll = Int.random(in: 0..<100, using: &generator)
        for (operation, share) in Self.mix {
            if roll < share { return operation }
            roll -= share
        }
        return .cacheGet
    }

    private func report(_ results: [Operation: [UInt64]]) {
        let total = results.values.reduce(0) { $0 + $1.count }
        print(String(format: "store-load mixed: clients=%d seconds=%.1f operations=%d throughput=%.0f ops/s",
                     options.connections, options.seconds, total, Double(total) / options.seconds))
        print("| operation | ops/s | p50 ms | p99 ms | p999 ms |")
        print("|---|---|---|---|---|")
        for operation in Operation.allCases {
            let sorted = (results[operation] ?? []).sorted()
            print(String(format: "| %@ | %.0f | %.3f | %.3f | %.3f |", operation.rawValue, Double(sorted.count) / options.seconds,
                         percentile(sorted, 0.5), percentile(sorted, 0.99), percentile(sorted, 0.999)))
        }
    }
}
