// Applies versioned schema migrations at start. Each migration runs in its own transaction under
// a transaction-scoped advisory lock, so servers starting at the same time apply each migration
// exactly once, and running again is a no-op.

/// One schema change. Versions are positive and strictly increasing within a list; a version,
/// once released, never changes its SQL. `sql` may hold several statements.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public struct SchemaMigrator: Sendable {
    /// The bookkeeping table, created in `schema` (or the default search path when nil).
    public static let tableName = "schema_migrations"

    private let pool: PostgresPool
    private let migrations: [Migration]
    private let schema: String?
    private let logger: Logger

    /// `schema`: when given, it is created if missing and every migration runs with it first on
    /// the search path, so unqualified names land there. Throws `.invalidArgument` for versions
    /// that are not positive and strictly increasing.
    public init(pool: PostgresPool, migrations: [Migration], schema: String? = nil, logger: Logger) throws(BackendError) {
        var previous = 0
        for migration in migrations {
            guard migration.version > previous else {
                throw .invalidArgument(field: "migrations",
                                       reason: "version \(migration.version) (\(migration.name)) must be positive and above \(previous)")
            }
            previous = migration.version
        }
        self.pool = pool
        self.migrations = migrations
        self.schema = schema
        self.logger = logger
    }

    /// Applies the migrations not yet recorded, in order, and returns their versions.
    /// On failure nothing of the failing migration remains and the error is rethrown.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await pool.withConnection { connection in
            try await connection.transaction { connection in
                try await lock(connection)
                if let schema {
                    try await connection.executeScript("CREATE SCHEMA IF NOT EXISTS \(Self.quoted(schema))")
                }
                try await connection.executeScript("""
                    CREATE TABLE IF NOT EXISTS \(qualifiedTable) (
                        version int PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """)
            }
            let known = try await appliedVersions(connection)
            if let newest = known.max(), newest > (migrations.last?.version ?? 0) {
                logger.warning("database has migrations newer than this server knows", ["database": newest])
            }
            var applied: [Int] = []
            for migration in migrations where !known.contains(migration.version) {
                if try await apply(migration, on: connection) { applied.append(migration.version) }
            }
            return applied
        }
    }

    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws -> Bool {
        try await connection.transaction { connection in
            try await lock(connection)
            // Another server may have applied it while we waited for the lock.
            let existing = try await connection.query("SELECT 1 FROM \(qualifiedTable) WHERE version = $1",
                                                      [.integer(migration.version)])
            guard existing.isEmpty else { return false }
            if let schema {
                try await connection.executeScript("SET LOCAL search_path TO \(Self.quoted(schema)), public")
            }
            do {
                try await connection.executeScript(migration.sql)
            } catch {
                logger.error("migration failed", ["version": migration.version, "name": migration.name, "error": error])
                throw error
            }
            _ = try await connection.query("INSERT INTO \(qualifiedTable) (version, name) VALUES ($1, $2)",
                                           [.integer(migration.version), .text(migration.name)])
            logger.info("applied migration", ["version": migration.version, "name": migration.name])
            return true
        }
    }

    private func appliedVersions(_ connection: PostgresConnection) async throws -> Set<Int> {
        let rows = try await connection.query("SELECT version FROM \(qualifiedTable)")
        return Set((0..<rows.count).compactMap { rows.int64(row: $0, column: 0).map(Int.init) })
    }

    /// Held until the transaction ends; serializes migrators of the same schema across servers.
    private func lock(_ connection: PostgresConnection) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock($1::int8)", [.integer(lockKey)])
    }

    private var qualifiedTable: String {
        schema.map { "\(Self.quoted($0)).\(Self.tableName)" } ?? Self.tableName
    }

    /// FNV-1a of a fixed label and the schema: stable across processes and versions, unlike
    /// Swift's randomly seeded `Hasher`.
    private var lockKey: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "agent-store.schema-migrations.\(schema ?? "")".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
