// SchemaMigrator against a real PostgreSQL: idempotence, concurrent starts, failure rollback.
import StoreServerCore
import XCTest

final class PostgresSchemaMigratorTests: XCTestCase {
    /// Not idempotent on purpose (plain CREATE TABLE, an INSERT): applying one twice would fail.
    private let migrations = [
        Migration(version: 1, name: "create items", sql: "CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);"),
        Migration(version: 2, name: "seed and extend", sql: """
            ALTER TABLE items ADD COLUMN size int8 NOT NULL DEFAULT 0;
            INSERT INTO items (id, name) VALUES (1, 'first');
            """),
        Migration(version: 5, name: "index", sql: "CREATE INDEX items_name ON items (name);"),
    ]

    private func makePool() throws -> PostgresPool {
        PostgresPool(settings: try PostgresTestSupport.settings(), logger: PostgresTestSupport.logger)
    }

    private func dropSchema(_ schema: String, pool: PostgresPool) async throws {
        _ = try await pool.query("DROP SCHEMA \"\(schema)\" CASCADE")
    }

    func testRunningTwiceIsANoOp() async throws {
        let pool = try makePool()
        let schema = PostgresTestSupport.uniqueName("pgtest_migrate")
        let migrator = try SchemaMigrator(pool: pool, migrations: migrations, schema: schema, logger: PostgresTestSupport.logger)
        let first = try await migrator.migrate()
        XCTAssertEqual(first, [1, 2, 5])
        let second = try await migrator.migrate()
        XCTAssertEqual(second, [])
        let rows = try await pool.query("SELECT version, name FROM \"\(schema)\".schema_migrations ORDER BY version")
        XCTAssertEqual((0..<rows.count).map { rows.int64(row: $0, column: 0) }, [1, 2, 5])
        let items = try await pool.query("SELECT count(*) FROM \"\(schema)\".items")
        XCTAssertEqual(items.int64(row: 0, column: 0), 1)

        // A later server version adds a migration: only that one runs.
        let extended = try SchemaMigrator(pool: pool, migrations: migrations + [
            Migration(version: 6, name: "more", sql: "INSERT INTO items (id, name) VALUES (2, 'second')"),
        ], schema: schema, logger: PostgresTestSupport.logger)
        let third = try await extended.migrate()
        XCTAssertEqual(third, [6])
        try await dropSchema(schema, pool: pool)
        await pool.shutdown()
    }

    func testConcurrentMigratorsApplyEachMigrationOnce() async throws {
        let schema = PostgresTestSupport.uniqueName("pgtest_migrate_race")
        let pools = try (0..<4).map { _ in try makePool() }
        let migrators = try pools.map {
            try SchemaMigrator(pool: $0, migrations: migrations, schema: schema, logger: PostgresTestSupport.logger)
        }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for migrator in migrators { group.addTask { try await migrator.migrate() } }
            var all: [Int] = []
            for try await versions in group { all += versions }
            return all
        }
        XCTAssertEqual(applied.sorted(), [1, 2, 5], "each migration applied by exactly one migrator")
        try await dropSchema(schema, pool: pools[0])
        for pool in pools { await pool.shutdown() }
    }

    func testFailedMigrationLeavesNoTrace() async throws {
        let pool = try makePool()
        let schema = PostgresTestSupport.uniqueName("pgtest_migrate_fail")
        let broken = try SchemaMigrator(pool: pool, migrations: [
            migrations[0],
            Migration(version: 2, name: "broken", sql: "INSERT INTO items (id, name) VALUES (1, 'x'); SELEC 1;"),
        ], schema: schema, logger: Logger(subsystem: "postgres-test", minimumLevel: .error, sink: CollectingLogSink()))
        await assertBackendError({ try await broken.migrate() }) { if case .rejected = $0 { true } else { false } }
        let rows = try await pool.query("SELECT version FROM \"\(schema)\".schema_migrations")
        XCTAssertEqual(rows.count, 1)
        let items = try await pool.query("SELECT count(*) FROM \"\(schema)\".items")
        XCTAssertEqual(items.int64(row: 0, column: 0), 0, "the failed migration's insert was rolled back")
        try await dropSchema(schema, pool: pool)
        await pool.shutdown()
    }

    func testVersionsMustIncrease() throws {
        let pool = try makePool()
        XCTAssertThrowsError(try SchemaMigrator(pool: pool, migrations: [migrations[1], migrations[0]], logger: PostgresTestSupport.logger))
        XCTAssertThrowsError(try SchemaMigrator(pool: pool, migrations: [Migration(version: 0, name: "zero", sql: "")], logger: PostgresTestSupport.logger))
    }
}
