// PostgresConnection against a real PostgreSQL: parameters, formats, prepared statements,
// transactions, pipeline, notices and error mapping.
import StoreServerCore
import XCTest

final class PostgresConnectionTests: XCTestCase {
    private func connect(logger: Logger = PostgresTestSupport.logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(settings: PostgresTestSupport.settings(), logger: logger)
    }

    func testTextAndByteaParametersRoundTrip() async throws {
        let connection = try await connect()
        let text = "it's \"quoted\"; DROP TABLE x; -- \\ ünïcødé 日本語 🚀"
        let allBytes = (0...255).map { UInt8($0) }
        for format in [PostgresFormat.text, .binary] {
            let rows = try await connection.query("SELECT $1::text AS t, $2::bytea AS b, $3::text AS n, $4::bytea AS e",
                                                  [.text(text), .bytes(allBytes), .null, .bytes([])], resultFormat: format)
            XCTAssertEqual(rows.count, 1)
            XCTAssertEqual(rows.columnNames, ["t", "b", "n", "e"])
            XCTAssertEqual(rows.string(row: 0, column: 0), text)
            XCTAssertEqual(rows.bytea(row: 0, column: 1), allBytes, "format \(format)")
            XCTAssertNil(rows.bytes(row: 0, column: 2))
            XCTAssertEqual(rows.bytea(row: 0, column: 3), [])
        }
        await connection.close()
    }

    func testIntegersInBothFormats() async throws {
        let connection = try await connect()
        for format in [PostgresFormat.text, .binary] {
            let rows = try await connection.query("SELECT 9000000000::int8, -7::int4, -3::int2, $1::int8",
                                                  [.integer(-42)], resultFormat: format)
            XCTAssertEqual(rows.int64(row: 0, column: 0), 9_000_000_000)
            XCTAssertEqual(rows.int64(row: 0, column: 1), -7)
            XCTAssertEqual(rows.int64(row: 0, column: 2), -3)
            XCTAssertEqual(rows.int64(row: 0, column: 3), -42)
        }
        await connection.close()
    }

    func testPreparedStatementsAreReused() async throws {
        let connection = try await connect()
        let table = PostgresTestSupport.uniqueName("pgtest_prepared")
        _ = try await connection.query("CREATE TABLE \(table) (id int8 PRIMARY KEY, value text)")
        let insert = PostgresStatement(name: "insert_\(table)", sql: "INSERT INTO \(table) VALUES ($1, $2)")
        for id in 0..<20 {
            let rows = try await connection.execute(insert, [.integer(id), .text("value \(id)")])
            XCTAssertEqual(rows.affectedRowCount, 1)
        }
        let select = PostgresStatement(name: "count_\(table)", sql: "SELECT count(*) FROM \(table) WHERE id >= $1")
        let rows = try await connection.execute(select, [.integer(10)], resultFormat: .binary)
        XCTAssertEqual(rows.int64(row: 0, column: 0), 10)
        let prepared = try await connection.query("SELECT count(*) FROM pg_prepared_statements")
        XCTAssertEqual(prepared.int64(row: 0, column: 0), 2, "each statement is prepared once")
        _ = try await connection.query("DROP TABLE \(table)")
        await connection.close()
    }

    func testTransactionCommitsAndRollsBack() async throws {
        let connection = try await connect()
        let table = PostgresTestSupport.uniqueName("pgtest_transaction")
        _ = try await connection.query("CREATE TABLE \(table) (id int8 PRIMARY KEY)")
        struct Abort: Error {}
        do {
            try await connection.transaction { connection in
                _ = try await connection.query("INSERT INTO \(table) VALUES (1)")
                throw Abort()
            }
            XCTFail("transaction should throw")
        } catch is Abort {
            // Expected: the body's own error comes back unchanged.
        }
        var count = try await connection.query("SELECT count(*) FROM \(table)")
        XCTAssertEqual(count.int64(row: 0, column: 0), 0)

        let inserted = try await connection.transaction { connection in
            _ = try await connection.query("INSERT INTO \(table) VALUES (1)")
            return try await connection.query("INSERT INTO \(table) VALUES (2)").affectedRowCount
        }
        XCTAssertEqual(inserted, 1)
        await assertBackendError({
            try await connection.transaction { connection in
                _ = try await connection.query("INSERT INTO \(table) VALUES (3)")
                _ = try await connection.query("INSERT INTO \(table) VALUES (1)")
            }
        }) { if case .conflict = $0 { true } else { false } }
        count = try await connection.query("SELECT count(*) FROM \(table)")
        XCTAssertEqual(count.int64(row: 0, column: 0), 2, "row 3 was rolled back")
        _ = try await connection.query("DROP TABLE \(table)")
        await connection.close()
    }

    func testErrorMapping() async throws {
        let connection = try await connect()
        let table = PostgresTestSupport.uniqueName("pgtest_errors")
        _ = try await connection.query("CREATE TABLE \(table) (id int8 PRIMARY KEY)")
        _ = try await connection.query("INSERT INTO \(table) VALUES (1)")
        await assertBackendError({ _ = try await connection.query("INSERT INTO \(table) VALUES ($1)", [.integer(1)]) }) {
            if case .conflict(_, let reason) = $0 { reason.hasPrefix("23505") } else { false }
        }
        await assertBackendError({ _ = try await connection.query("SELEC 1") }) {
            if case .rejected(_, let reason) = $0 { reason.hasPrefix("42601") } else { false }
        }
        await assertBackendError({ _ = try await connection.query("SELECT 1/0") }) {
            if case .rejected = $0 { true } else { false }
        }
        XCTAssertFalse(connection.isBroken, "SQL errors leave the connection usable")
        _ = try await connection.query("DROP TABLE \(table)")
        await connection.close()
    }

    func testTerminatedBackendIsUnavailable() async throws {
        let victim = try await connect()
        let killer = try await connect()
        let pid = try await victim.query("SELECT pg_backend_pid()").int64(row: 0, column: 0)!
        _ = try await killer.query("SELECT pg_terminate_backend($1::int4)", [.integer(pid)])
        await assertBackendError({ _ = try await victim.query("SELECT 1") }) {
            if case .unavailable(_, _, let outcomeUnknown) = $0 { !outcomeUnknown } else { false }
        }
        XCTAssertTrue(victim.isBroken)
        await victim.close()
        await killer.close()
    }

    func testPipelineRunsStatementsIndependently() async throws {
        let connection = try await connect()
        let table = PostgresTestSupport.uniqueName("pgtest_pipeline")
        _ = try await connection.query("CREATE TABLE \(table) (id int8 PRIMARY KEY, payload bytea)")
        var statements = (0..<2_500).map {
            PostgresBatchStatement("INSERT INTO \(table) VALUES ($1, $2)", [.integer($0), .bytes(Array(repeating: 7, count: 100))])
        }
        statements.insert(PostgresBatchStatement("INSERT INTO \(table) VALUES ($1)", [.integer(5)]), at: 1_200)
        statements.append(PostgresBatchStatement("SELECT count(*) FROM \(table)"))
        let outcomes = try await connection.pipeline(statements)
        XCTAssertEqual(outcomes.count, statements.count)
        for (index, outcome) in outcomes.enumerated() where index != 1_200 && index != outcomes.count - 1 {
            XCTAssertEqual(try outcome.get().affectedRowCount, 1)
        }
        guard case .failure(.conflict) = outcomes[1_200] else { return XCTFail("duplicate should conflict: \(outcomes[1_200])") }
        XCTAssertEqual(try outcomes.last!.get().int64(row: 0, column: 0), 2_500)
        // The connection is back in normal mode afterwards.
        let after = try await connection.query("SELECT 1")
        XCTAssertEqual(after.int64(row: 0, column: 0), 1)
        _ = try await connection.query("DROP TABLE \(table)")
        await connection.close()
    }

    func testNoticesGoToTheLogger() async throws {
        let sink = CollectingLogSink()
        let connection = try await connect(logger: Logger(subsystem: "postgres-test", minimumLevel: .debug, sink: sink))
        try await connection.executeScript("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$; SELECT 1;")
        XCTAssertTrue(sink.collected.contains { $0.contains("hello from plpgsql") }, "\(sink.collected)")
        await connection.close()
    }

    func testInvalidURLIsRejected() throws {
        XCTAssertThrowsError(try PostgresConnectionSettings(url: "postgresql://host:notaport:x/db?bogus=1"))
        let settings = try PostgresConnectionSettings(url: "postgresql://user:secret@db.example:6543/store")
        XCTAssertEqual(settings.description, "db.example:6543/store", "no user or password in logs")
    }
}
