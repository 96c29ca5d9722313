// PostgresPool against a real PostgreSQL: concurrency bounds, overflow shrinking, exhaustion,
// replacing broken connections and failing fast when nothing listens.
import Foundation
import StoreServerCore
import Synchronization
import XCTest

final class PostgresPoolTests: XCTestCase {
    private func makePool(_ configure: (inout PostgresPoolConfiguration) -> Void = { _ in }) throws -> PostgresPool {
        var configuration = PostgresPoolConfiguration()
        configure(&configuration)
        return PostgresPool(settings: try PostgresTestSupport.settings(), configuration: configuration,
                            logger: PostgresTestSupport.logger)
    }

    func testDefaultsMatchTheUsualPoolSizes() {
        let configuration = PostgresPoolConfiguration()
        XCTAssertEqual(configuration.connectionsKept, 5)
        XCTAssertEqual(configuration.overflowConnectionsMax, 10)
        XCTAssertEqual(configuration.connectionsMax, 15)
        XCTAssertEqual(configuration.connectionLifetimeMax, .seconds(3600))
    }

    func testManyConcurrentQueriesStayWithinTheLimit() async throws {
        let pool = try makePool { $0.acquireTimeout = .seconds(30) }
        let inUseMax = MaximumTracker()
        try await withThrowingTaskGroup(of: Int64?.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await pool.withConnection { connection in
                        let open = pool.statistics.open
                        inUseMax.record(open)
                        return try await connection.query("SELECT $1::int8 FROM pg_sleep(0.005)", [.integer(index)])
                            .int64(row: 0, column: 0)
                    }
                }
            }
            var sum: Int64 = 0
            for try await value in group { sum += value ?? 0 }
            XCTAssertEqual(sum, Int64((0..<200).reduce(0, +)))
        }
        XCTAssertLessThanOrEqual(inUseMax.maximum, 15)
        XCTAssertGreaterThan(inUseMax.maximum, 5, "load should open overflow connections")
        let statistics = pool.statistics
        XCTAssertEqual(statistics.inUse, 0)
        XCTAssertEqual(statistics.waiters, 0)
        await pool.shutdown()
    }

    func testOverflowConnectionsCloseWhenIdle() async throws {
        let pool = try makePool {
            $0.overflowIdleTimeout = .milliseconds(200)
            $0.maintenanceInterval = .milliseconds(50)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<15 {
                group.addTask { _ = try await pool.query("SELECT pg_sleep(0.2)") }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(pool.statistics.open, 15)
        try await Task.sleep(for: .seconds(1))
        let statistics = pool.statistics
        XCTAssertEqual(statistics.open, 5, "\(statistics)")
        XCTAssertEqual(statistics.idle, 5)
        await pool.shutdown()
    }

    func testWaitersGiveUpAfterTheAcquireTimeout() async throws {
        let pool = try makePool {
            $0.connectionsKept = 1
            $0.overflowConnectionsMax = 0
            $0.acquireTimeout = .milliseconds(200)
        }
        let holder = Task { try await pool.query("SELECT pg_sleep(1)") }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await assertBackendError({ _ = try await pool.query("SELECT 1") }) {
            if case .poolExhausted = $0 { true } else { false }
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(1))
        _ = try await holder.value
        let rows = try await pool.query("SELECT 2")
        XCTAssertEqual(rows.int64(row: 0, column: 0), 2)
        await pool.shutdown()
    }

    func testBrokenConnectionIsReplaced() async throws {
        let pool = try makePool {
            $0.connectionsKept = 1
            $0.overflowConnectionsMax = 0
            $0.healthCheckAfterIdle = .zero
        }
        let pid = try await pool.query("SELECT pg_backend_pid()").int64(row: 0, column: 0)!
        let killer = try await PostgresConnection.connect(settings: PostgresTestSupport.settings(), logger: PostgresTestSupport.logger)
        _ = try await killer.query("SELECT pg_terminate_backend($1::int4)", [.integer(pid)])
        await killer.close()
        // The pre-ping notices the dead connection and the pool opens a new one transparently.
        let newPID = try await pool.query("SELECT pg_backend_pid()").int64(row: 0, column: 0)!
        XCTAssertNotEqual(newPID, pid)
        XCTAssertTrue(pool.isHealthy)
        let healthy = await pool.checkHealth()
        XCTAssertTrue(healthy)
        await pool.shutdown()
    }

    func testConnectionLeftInTransactionIsDiscarded() async throws {
        let pool = try makePool { $0.connectionsKept = 1; $0.overflowConnectionsMax = 0 }
        let first = try await pool.withConnection { connection in
            _ = try await connection.query("BEGIN")
            return connection.id
        }
        let second = try await pool.withConnection { $0.id }
        XCTAssertNotEqual(first, second)
        await pool.shutdown()
    }

    func testUnreachableServerFailsFast() async throws {
        // Port 1 on loopback: nothing listens, the connect is refused at once.
        let settings = try PostgresConnectionSettings(url: "postgresql://postgres@127.0.0.1:1/postgres")
        let pool = PostgresPool(settings: settings, logger: PostgresTestSupport.logger)
        let start = ContinuousClock.now
        for _ in 0..<20 {
            await assertBackendError({ _ = try await pool.query("SELECT 1") }) {
                if case .unavailable(_, _, let outcomeUnknown) = $0 { !outcomeUnknown } else { false }
            }
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
        XCTAssertFalse(pool.isHealthy)
        let healthy = await pool.checkHealth()
        XCTAssertFalse(healthy)
        XCTAssertEqual(pool.statistics, PostgresPoolStatistics(open: 0, idle: 0, inUse: 0, waiters: 0))
        await pool.shutdown()
    }

    func testShutdownRejectsNewCalls() async throws {
        let pool = try makePool()
        _ = try await pool.query("SELECT 1")
        await pool.shutdown()
        await assertBackendError({ _ = try await pool.query("SELECT 1") }) {
            if case .unavailable = $0 { true } else { false }
        }
        XCTAssertEqual(pool.statistics.open, 0)
    }
}

/// Records the largest value seen from many tasks.
private final class MaximumTracker: Sendable {
    private let value = Mutex(0)
    func record(_ candidate: Int) { value.withLock { $0 = max($0, candidate) } }
    var maximum: Int { value.withLock { $0 } }
}
