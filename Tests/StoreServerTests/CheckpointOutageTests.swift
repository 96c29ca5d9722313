// A burst of checkpoint puts while PostgreSQL is stopped and started again: during the outage
// puts fail quickly with backend_unavailable (retryable), nothing hangs or crashes, health shows
// PostgreSQL down and then up, and every put that was acknowledged is stored afterwards.
import Foundation
import Synchronization
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class CheckpointOutageTests: XCTestCase {
    /// One put's result, as seen by the client.
    private enum Outcome: Sendable {
        case acknowledged(String)
        case failed(StoreClientError)
    }

    func testPutsDuringAPostgresOutageFailRetryablyAndAcknowledgedPutsSurvive() async throws {
        guard ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] != nil else { throw BackendFixture.MissingEnvironment() }
        let directory = NSTemporaryDirectory() + "agent-store-outage-\(UUID().uuidString.prefix(8))"
        // The postgres user (when the tests run as root) must be able to traverse it.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer {
            // Cleanup only; a failure here must not hide the test's own result.
            try? FileManager.default.removeItem(atPath: directory)
        }
        let logger = Logger(subsystem: "checkpoint-outage", minimumLevel: .error, sink: CollectingSink())
        let port = Int.random(in: 45_500..<45_600)
        let managed = ManagedPostgres(dataDirectory: directory, port: port, logger: logger)
        let url = try await managed.start()
        var poolConfiguration = PostgresPoolConfiguration()
        poolConfiguration.healthCheckAfterIdle = .zero
        let pool = PostgresPool(settings: try PostgresConnectionSettings(url: url), configuration: poolConfiguration, logger: logger)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.databaseURL = url
        configuration.cacheEnabled = false
        let server: Server
        do {
            try await SchemaMigrator(pool: pool, migrations: SchemaCatalogue.migrations, logger: logger).migrate()
            let backends = Backends(postgres: pool, cache: DisabledCache(), configuration: configuration, logger: logger)
            server = Server(configuration: configuration, router: DomainCatalogue.router(for: backends),
                            healthSources: [PostgresHealthSource(pool: pool)], logger: logger)
            try server.start()
        } catch {
            await pool.shutdown()
            try? await managed.stop() // Cleanup after the failure being reported.
            throw error
        }
        let client = try await StoreClient.connect(to: ClientConfiguration(port: server.port, defaultTimeout: .seconds(10)))
        let thread = "outage-\(UUID().uuidString.prefix(8))"
        let counter = Counter()

        // Four writers put checkpoints with increasing ids until told to stop.
        let stop = Flag()
        let writers = (0..<4).map { worker in
            Task { () -> [Outcome] in
                var outcomes: [Outcome] = []
                while !stop.isSet {
                    let id = CheckpointFixtures.id(counter.next())
                    let started = ContinuousClock.now
                    do throws(StoreClientError) {
                        try await client.putCheckpoint(CheckpointFixtures.put(
                            thread: thread, id: id, metadata: #"{"worker":\#(worker)}"#,
                            versions: [("c", id)], blobs: [("c", id, "\"\(id)\"")]))
                        outcomes.append(.acknowledged(id))
                    } catch {
                        outcomes.append(.failed(error))
                        // Back off a little like a real retrying client would.
                        try? await Task.sleep(for: .milliseconds(20)) // Sleep is only cancelled at shutdown.
                    }
                    XCTAssertLessThan(ContinuousClock.now - started, .seconds(8), "a put must not hang during an outage")
                }
                return outcomes
            }
        }

        try await Task.sleep(for: .milliseconds(500))
        let healthBefore = try await health(client)
        XCTAssertEqual(healthBefore, .up)
        try await managed.stop()
        try await Task.sleep(for: .milliseconds(1500))
        let healthDuring = try await health(client)
        XCTAssertEqual(healthDuring, .down)
        let restarted = ManagedPostgres(dataDirectory: directory, port: port, logger: logger)
        _ = try await restarted.start()
        var healthAfter: BackendState? = nil
        for _ in 0..<50 where healthAfter != .up {
            try await Task.sleep(for: .milliseconds(100))
            healthAfter = try await health(client)
        }
        XCTAssertEqual(healthAfter, .up)
        try await Task.sleep(for: .milliseconds(500))
        stop.set()
        var outcomes: [Outcome] = []
        for writer in writers { outcomes += await writer.value }

        var acknowledged: Set<String> = []
        var failures = 0
        for outcome in outcomes {
            switch outcome {
            case .acknowledged(let id): acknowledged.insert(id)
            case .failed(let error):
                failures += 1
                guard case let .server(body) = error else {
                    XCTFail("only server errors expected, got \(error)")
                    continue
                }
                XCTAssertEqual(body.code, .backendUnavailable, body.message)
                XCTAssertTrue(body.flags.contains(.retryable), "\(body.flags)")
            }
        }
        print("outage test: \(acknowledged.count) puts acknowledged, \(failures) failed with backend_unavailable")
        XCTAssertGreaterThan(failures, 0, "the outage was seen")
        XCTAssertGreaterThan(acknowledged.count, 0)
        let stored = Set(try await client.checkpoints(CheckpointListRequest(threadID: thread), timeout: .seconds(60)).map(\.checkpointID))
        XCTAssertTrue(acknowledged.isSubset(of: stored), "lost: \(acknowledged.subtracting(stored).sorted().prefix(5))")
        // And the ones stored after the restart still load with their channel values.
        if let newest = try await client.checkpoint(threadID: thread) {
            XCTAssertEqual(newest.channelValues.first?.version, newest.checkpointID)
        }

        await client.close()
        await server.shutdown()
        await pool.shutdown()
        try await restarted.stop()
    }

    private func health(_ client: StoreClient) async throws -> BackendState? {
        let response = try HealthResponse.decode(body: try await client.send(opcode: .health).body)
        return response.backends.first { $0.name == "postgres" }?.state
    }
}

private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
