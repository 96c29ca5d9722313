// Pins the PostgreSQL plan of the re-read of vector-search hits (PostgresMemoryStore.hitItemsQuery)
// against real PostgreSQL. The re-read once walked every item of the searched namespace (1.2 s
// per search in the mixed workload): with statistics gathered before the namespace filled up, the
// planner believed its range narrow, scanned it, and joined the hits to it. It must start from
// the hit ids and reach each item by primary key. A plan check rather than a timing, so a loaded
// machine cannot make it flaky.
import Foundation
import XCTest
@testable import StoreServerCore
import WireProtocol

final class MemorySearchPlanTests: XCTestCase {
    /// Enough items in one namespace that walking them is the costly plan the test guards against.
    static let itemCount = 5000
    /// Hits a search re-reads: the index's top-k.
    static let hitCount = 10

    func testHitReReadStartsFromTheHitIDs() async throws {
        let pool = try await BackendFixture.backends().postgres
        let store = PostgresMemoryStore(pool: pool)
        let run = "plan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let namespacePath = MemoryNamespace.path(["plan-test", run])
        let otherNamespacePath = MemoryNamespace.path(["plan-test-other", run])
        let collection = try await store.ensureCollection(MemoryCollection(name: run, dimension: 4, metric: .cosine))
        addTeardownBlock {
            try await Self.remove(pool, namespacePaths: [namespacePath, otherNamespacePath], collection: collection.name)
        }

        // Statistics from before the namespace filled up, taken over a table holding other
        // namespaces: what a fresh namespace meets until autovacuum analyzes again, and what
        // misled the planner in the mixed workload.
        try await fill(pool, namespacePath: otherNamespacePath, collection: collection.name)
        try await analyze(pool)
        try await fill(pool, namespacePath: namespacePath, collection: collection.name)
        let hits = try await pool.query("""
            SELECT v.id FROM memory_vectors AS v JOIN memory_items AS i ON i.id = v.item_id
            WHERE i.namespace_path = $1 ORDER BY random() LIMIT $2
            """, [.text(namespacePath), .integer(Self.hitCount)])
        let ids = (0..<hits.count).compactMap { hits.int64(row: $0, column: 0) }.map { UInt64($0) }
        XCTAssertEqual(ids.count, Self.hitCount)
        let query = PostgresMemoryStore.hitItemsQuery(vectorIDs: ids, scope: MemoryScope(prefixPath: namespacePath))

        try await assertStartsFromHits(pool, query, statistics: "stale")
        try await analyze(pool)
        try await assertStartsFromHits(pool, query, statistics: "fresh")

        // The query still answers: every hit is in scope.
        let rows = try await pool.query(query.sql, query.parameters)
        XCTAssertEqual(rows.count, Self.hitCount)
    }

    private func assertStartsFromHits(_ pool: PostgresPool, _ query: (sql: String, parameters: [PostgresValue]),
                                      statistics: String, line: UInt = #line) async throws {
        let plan = try await explain(pool, query.sql, query.parameters)
        let itemScans = scans(in: plan, of: "memory_items")
        XCTAssertFalse(itemScans.isEmpty, "no scan of memory_items in the plan:\n\(plan)", line: line)
        for scan in itemScans {
            XCTAssertEqual(indexNames(of: scan), ["memory_items_pkey"],
                           "\(statistics) statistics: memory_items must be reached by primary key from the hits, not by "
                           + "\(scan["Node Type"] ?? "?"):\n\(plan)", line: line)
        }
        for scan in scans(in: plan, of: "memory_vectors") {
            XCTAssertEqual(indexNames(of: scan), ["memory_vectors_pkey"],
                           "\(statistics) statistics: the hits must be looked up by their ids, not by "
                           + "\(scan["Node Type"] ?? "?"):\n\(plan)", line: line)
        }
    }

    /// Items and one vector each, inserted by two statements.
    private func fill(_ pool: PostgresPool, namespacePath: String, collection: String) async throws {
        _ = try await pool.query("""
            INSERT INTO memory_items (namespace, namespace_path, key, value, created_at, updated_at)
            SELECT string_to_array(left($1::text, -1), '.'), $1, 'item-' || n, jsonb_build_object('n', n), now(), now()
            FROM generate_series(1, $2::int) AS n
            """, [.text(namespacePath), .integer(Self.itemCount)])
        _ = try await pool.query("""
            INSERT INTO memory_vectors (item_id, collection, field, dimension, embedding)
            SELECT id, $2, 'text', 4, decode(repeat('00', 16), 'hex') FROM memory_items WHERE namespace_path = $1
            """, [.text(namespacePath), .text(collection)])
    }

    private func analyze(_ pool: PostgresPool) async throws {
        _ = try await pool.query("ANALYZE memory_items")
        _ = try await pool.query("ANALYZE memory_vectors")
    }

    /// The rows are the test's own (its namespaces and collection); deleting items cascades to vectors.
    private static func remove(_ pool: PostgresPool, namespacePaths: [String], collection: String) async throws {
        for path in namespacePaths {
            _ = try await pool.query("DELETE FROM memory_items WHERE namespace_path = $1", [.text(path)])
        }
        _ = try await pool.query("DELETE FROM memory_collections WHERE name = $1", [.text(collection)])
    }

    private func explain(_ pool: PostgresPool, _ sql: String, _ parameters: [PostgresValue]) async throws -> [String: Any] {
        let rows = try await pool.query("EXPLAIN (FORMAT JSON) " + sql, parameters)
        let text = try XCTUnwrap(rows.string(row: 0, column: 0))
        let document = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        return try XCTUnwrap(document?.first?["Plan"] as? [String: Any], "unexpected EXPLAIN output: \(text)")
    }

    /// Every plan node that reads `table`, depth first.
    private func scans(in node: [String: Any], of table: String) -> [[String: Any]] {
        var found = node["Relation Name"] as? String == table ? [node] : []
        for child in node["Plans"] as? [[String: Any]] ?? [] { found += scans(in: child, of: table) }
        return found
    }

    /// The indexes a scan node uses: its own (Index Scan, Index Only Scan), or those of the bitmap
    /// index scans below it (Bitmap Heap Scan). Empty for a sequential scan.
    private func indexNames(of scan: [String: Any]) -> Set<String> {
        var names = Set([scan["Index Name"] as? String].compactMap { $0 })
        for child in scan["Plans"] as? [[String: Any]] ?? [] where child["Relation Name"] == nil {
            names.formUnion(indexNames(of: child))
        }
        return names
    }
}
