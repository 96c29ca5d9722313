// Redis killed mid-run under a server with the conversations and cache domains: operations keep
// succeeding from the in-process fallback, health says degraded, reads after writes stay fresh,
// TTLs expire in the fallback, and after Redis returns (with a snapshot holding old values)
// health is up again and no stale value is served.
import Foundation
import XCTest
import StoreClient
@testable import StoreServerCore
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

final class ConversationCacheOutageTests: XCTestCase {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A loopback port that was free a moment ago (bound to port 0, read back, released).
    private func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func redisState(_ client: StoreClient) async throws -> BackendState? {
        try await client.health().backends.first { $0.name == "redis" }?.state
    }

    func testRedisKilledMidRunKeepsOperationsFreshAndRecovers() async throws {
        let shared = try await BackendFixture.backends()
        let logger = Logger(subsystem: "outage-test", minimumLevel: .error, sink: CollectingSink())
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("conversation-outage-\(UUID().uuidString)", isDirectory: true)
        defer {
            // Best effort: a leftover temporary directory does no harm.
            try? FileManager.default.removeItem(at: directory)
        }
        // The restarted Redis loads the snapshot saved below: it comes back holding old values,
        // the case in which a careless switch-back would serve stale data.
        let redisConfiguration = ManagedRedis.Configuration(port: try freePort(), dataDirectory: directory,
                                                            loadsExistingSnapshot: true)
        var managed = try await ManagedRedis.start(configuration: redisConfiguration, logger: logger)
        let pool = RedisPool(configuration: .init(endpoint: managed.endpoint, commandTimeout: .seconds(1)), logger: logger)
        let cache = FallbackCache(redis: RedisCache(pool: pool, keyPrefix: "outage-test:"),
                                  fallback: InProcessCache(capacityBytes: 8 << 20), logger: logger)
        var configuration = shared.configuration
        configuration.port = 0
        let backends = Backends(postgres: shared.postgres, cache: cache, configuration: configuration, logger: logger)
        let server = Server(configuration: configuration, router: DomainCatalogue.router(for: backends),
                            healthSources: [CacheHealthSource(cache: cache)], logger: logger)
        _ = try server.start()
        let client = try await StoreClient.connect(to: ClientConfiguration(port: server.port, defaultTimeout: .seconds(10)))
        defer { cache.shutdown(); pool.shutdown() }

        // Healthy: reads fill Redis.
        let conversation = try await client.createConversation(title: "before")
        _ = try await client.conversation(id: conversation.id)
        try await client.cacheSet(bytes("k:overwritten"), value: bytes("old"), timeToLive: .seconds(600))
        try await client.cacheSet(bytes("k:deleted"), value: bytes("old"), timeToLive: .seconds(600))
        let upState = try await redisState(client)
        XCTAssertEqual(upState, .up)
        let admin = try await RedisConnection.connect(to: managed.endpoint, connectTimeout: .seconds(1), commandTimeout: .seconds(5))
        let cachedRecord = try await admin.execute([bytes("EXISTS"), bytes("outage-test:r:conversation:\(conversation.id)")])
        XCTAssertEqual(cachedRecord, .integer(1), "the read filled Redis")
        let saved = try await admin.execute(["SAVE"])
        XCTAssertEqual(saved, .status("OK"))
        admin.close()

        // Kill Redis mid-run.
        await managed.stop()

        // Every operation keeps succeeding; reads after writes are fresh.
        let renamed = try await client.updateConversation(id: conversation.id, title: "during")
        XCTAssertEqual(renamed.title, "during")
        for _ in 0..<3 {
            let read = try await client.conversation(id: conversation.id)
            XCTAssertEqual(read.title, "during")
        }
        let degradedState = try await redisState(client)
        XCTAssertEqual(degradedState, .degraded)
        let health = try await client.health()
        XCTAssertEqual(health.status, .degraded)
        let second = try await client.createConversation(title: "created while down")
        let secondRead = try await client.conversation(id: second.id)
        XCTAssertEqual(secondRead.title, "created while down")
        try await client.cacheSet(bytes("k:overwritten"), value: bytes("new"))
        try await client.cacheDelete([bytes("k:deleted")])
        let newValue = try await client.cacheGet(bytes("k:overwritten"))
        XCTAssertEqual(newValue, bytes("new"))
        // TTL expiry in the fallback.
        try await client.cacheSet(bytes("k:short"), value: bytes("v"), timeToLive: .milliseconds(1000))
        let shortBefore = try await client.cacheGet(bytes("k:short"))
        XCTAssertEqual(shortBefore, bytes("v"))
        try await Task.sleep(for: .milliseconds(1500))
        let shortAfter = try await client.cacheGet(bytes("k:short"))
        XCTAssertNil(shortAfter, "expired in the fallback")

        // Redis returns with its old snapshot; the server switches back by itself.
        managed = try await ManagedRedis.start(configuration: redisConfiguration, logger: logger)
        let deadline = ContinuousClock.now + .seconds(20)
        var state = try await redisState(client)
        while state != .up, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            state = try await redisState(client)
        }
        XCTAssertEqual(state, .up, "health is up again after Redis returns")
        let afterHealth = try await client.health()
        XCTAssertEqual(afterHealth.status, .up)

        // No stale value: the snapshot's "before" record and cache values are not served.
        for _ in 0..<3 {
            let read = try await client.conversation(id: conversation.id)
            XCTAssertEqual(read.title, "during")
        }
        let overwritten = try await client.cacheGet(bytes("k:overwritten"))
        XCTAssertNotEqual(overwritten, bytes("old"))
        let deleted = try await client.cacheGet(bytes("k:deleted"))
        XCTAssertNil(deleted)
        // And writing keeps working through Redis again.
        let final = try await client.updateConversation(id: conversation.id, title: "after")
        XCTAssertEqual(final.title, "after")
        let finalRead = try await client.conversation(id: conversation.id)
        XCTAssertEqual(finalRead.title, "after")
        try await client.cacheSet(bytes("k:short"), value: bytes("v2"), timeToLive: .milliseconds(1000))
        try await Task.sleep(for: .milliseconds(1500))
        let expired = try await client.cacheGet(bytes("k:short"))
        XCTAssertNil(expired, "expired in Redis")

        await client.close()
        await server.shutdown()
        await managed.stop()
    }

    /// ENABLE_CACHE=false: cache operations succeed and always miss, conversations are read from
    /// PostgreSQL every time (a change made behind the server's back is seen at once), and health
    /// reports the cache as not configured.
    func testCacheDisabledServesFromPostgreSQL() async throws {
        let shared = try await BackendFixture.backends()
        var configuration = shared.configuration
        configuration.port = 0
        configuration.cacheEnabled = false
        let cache = DisabledCache()
        let backends = Backends(postgres: shared.postgres, cache: cache, configuration: configuration, logger: shared.logger)
        let server = Server(configuration: configuration, router: DomainCatalogue.router(for: backends),
                            healthSources: [CacheHealthSource(cache: cache)], logger: shared.logger)
        _ = try server.start()
        let client = try await StoreClient.connect(to: ClientConfiguration(port: server.port))

        try await client.cacheSet(bytes("k"), value: bytes("v"), timeToLive: .seconds(60))
        let value = try await client.cacheGet(bytes("k"))
        XCTAssertNil(value)
        let deleted = try await client.cacheDelete([bytes("k")])
        XCTAssertEqual(deleted, 0)
        let cleared = try await client.cacheClear(prefix: [])
        XCTAssertEqual(cleared, 0)

        let conversation = try await client.createConversation(title: "first")
        _ = try await client.conversation(id: conversation.id)
        _ = try await shared.postgres.query("UPDATE conversations SET title = 'behind' WHERE id = $1::uuid",
                                            [.text(conversation.id)])
        let read = try await client.conversation(id: conversation.id)
        XCTAssertEqual(read.title, "behind", "nothing is cached")
        let state = try await redisState(client)
        XCTAssertEqual(state, .notConfigured)
        await client.close()
        await server.shutdown()
    }
}
