// ManagedPostgres with a real private cluster in a temporary directory, and the pool riding out
// an outage of that cluster: fail fast while down, recover by itself when it is back.
import Foundation
import StoreServerCore
import XCTest

final class PostgresManagedTests: XCTestCase {
    func testStartStopRestartAndPoolRecovery() async throws {
        let directory = NSTemporaryDirectory() + "agent-store-managed-\(UUID().uuidString.prefix(8))"
        // The postgres user (when the tests run as root) must be able to traverse it.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let logger = PostgresTestSupport.logger
        let port = Int.random(in: 40_000..<50_000)
        let managed = ManagedPostgres(dataDirectory: directory, port: port, logger: logger)
        defer {
            // Cleanup only; a failure here must not hide the test's own result.
            try? FileManager.default.removeItem(atPath: directory)
        }

        let url = try await managed.start()
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/postgres/PG_VERSION"))
        var configuration = PostgresPoolConfiguration()
        configuration.healthCheckAfterIdle = .zero
        let pool = PostgresPool(settings: try PostgresConnectionSettings(url: url), configuration: configuration, logger: logger)
        do {
            _ = try await pool.query("CREATE TABLE survivors (id int8 PRIMARY KEY)")
            _ = try await pool.query("INSERT INTO survivors VALUES (1)")
            let fsync = try await pool.query("SHOW fsync")
            XCTAssertEqual(fsync.string(row: 0, column: 0), "on", "the managed mode keeps durable settings")

            // A second start while running reuses the running cluster.
            let again = try await ManagedPostgres(dataDirectory: directory, port: port, logger: logger).start()
            XCTAssertEqual(again, url)

            try await managed.stop()
            let stopped = await managed.isRunning()
            XCTAssertFalse(stopped)
            let start = ContinuousClock.now
            await assertBackendError({ _ = try await pool.query("SELECT 1") }) {
                if case .unavailable = $0 { true } else { false }
            }
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(3), "an outage must not hang")
            let healthyWhileDown = await pool.checkHealth()
            XCTAssertFalse(healthyWhileDown)

            // A new instance finds the existing cluster (no initdb) and the pool reconnects.
            let restarted = ManagedPostgres(dataDirectory: directory, port: port, logger: logger)
            let restartedURL = try await restarted.start()
            XCTAssertEqual(restartedURL, url)
            var recovered: PostgresRows? = nil
            for _ in 0..<50 where recovered == nil {
                do {
                    recovered = try await pool.query("SELECT count(*) FROM survivors")
                } catch BackendError.unavailable {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            XCTAssertEqual(recovered?.int64(row: 0, column: 0), 1, "committed data survives the restart")
            XCTAssertTrue(pool.isHealthy)
            await pool.shutdown()
            try await restarted.stop()
        } catch {
            await pool.shutdown()
            try? await managed.stop() // Cleanup after the failure being reported below.
            throw error
        }
    }
}
