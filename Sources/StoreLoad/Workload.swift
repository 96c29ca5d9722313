// What store-load drives. The raw workloads (every case but `mixed`) run in the poll(2) event
// loop of LoadLoop, in the shape of redis-benchmark (every connection sends `pipeline` requests
// and waits for all their answers), so their figures and redis-benchmark's can sit side by side.
import StoreClient
import WireProtocol

enum Workload: String, CaseIterable {
    /// PING, answered on the connection's queue.
    case ping
    /// HEALTH, which takes the task-based path every domain operation takes.
    case health
    /// The agent workload over StoreClient (MixedWorkload.swift).
    case mixed
    /// CACHE_GET of keys written before the run.
    case cacheGet = "cache-get"
    /// CACHE_SET of `--value-bytes` values.
    case cacheSet = "cache-set"
    /// CONVERSATION_GET rotating over `--conversations` conversations created before the run.
    case conversationGet = "conversation-get"

    /// Keys a cache run spreads its connections over, so a run touches a fixed, small key set.
    static let cacheKeyCount = 100
    /// Batches each connection rotates through in a conversation run, so reads spread over the ids.
    static let conversationBatchesPerConnection = 8
    /// Long enough that no key written by the setup or the run expires during a run.
    static let cacheTimeToLive = Duration.seconds(600)

    /// Creates what the run reads; returns the conversation ids to read (empty for other workloads).
    func prepare(_ options: LoadOptions) async throws -> [String] {
        guard self == .cacheGet || self == .conversationGet else { return [] }
        let client = try await StoreClient.connect(to: ClientConfiguration(host: options.host, port: options.port,
                                                                           token: options.token, defaultTimeout: .seconds(30)))
        defer { Task { await client.close() } }
        if self == .cacheGet {
            // Something to find: the same keys and value size a cache-set run writes.
            let value = Self.cacheValue(options)
            for key in 0..<min(Self.cacheKeyCount, options.connections) {
                try await client.cacheSet(Self.cacheKey(key), value: value, timeToLive: Self.cacheTimeToLive)
            }
            return []
        }
        var ids: [String] = []
        for index in 0..<options.conversations {
            let record = try await client.createConversation(
                title: "bench \(index)", userID: "bench",
                metadata: ["index": .int(Int64(index)), "source": .string("store-load")])
            ids.append(record.id)
        }
        return ids
    }

    /// The batches connection number `connection` sends in turn; each holds `options.pipeline` requests.
    func batches(_ options: LoadOptions, connection: Int, conversationIDs: [String]) -> [RequestBatch] {
        func repeated(_ opcode: Opcode, _ body: [UInt8]) -> [RequestBatch] {
            [RequestBatch(Array(repeating: (opcode, body), count: options.pipeline))]
        }
        let key = Self.cacheKey(connection % Self.cacheKeyCount)
        switch self {
        case .mixed:
            preconditionFailure("the mixed workload runs over StoreClient, not in LoadLoop")
        case .ping:
            return repeated(.ping, PingMessage(payload: 0x5A5A).encodedBody)
        case .health:
            return repeated(.health, [])
        case .cacheGet:
            return repeated(.cacheGet, CacheGetRequest(key: key).encodedBody)
        case .cacheSet:
            let milliseconds = UInt64(Self.cacheTimeToLive.components.seconds) * 1000
            return repeated(.cacheSet, CacheSetRequest(key: key, value: Self.cacheValue(options),
                                                       timeToLiveMilliseconds: milliseconds).encodedBody)
        case .conversationGet:
            return (0..<Self.conversationBatchesPerConnection).map { round in
                RequestBatch((0..<options.pipeline).map { slot in
                    // 7919 (a prime) scatters connections over the ids rather than in step.
                    let id = conversationIDs[(connection * 7919 + round * options.pipeline + slot) % conversationIDs.count]
                    return (.conversationGet, IDRequest(id: id).encodedBody)
                })
            }
        }
    }

    private static func cacheKey(_ number: Int) -> [UInt8] { Array("bench:key:\(number)".utf8) }

    private static func cacheValue(_ options: LoadOptions) -> [UInt8] {
        [UInt8](repeating: UInt8(ascii: "x"), count: options.valueBytes)
    }
}
