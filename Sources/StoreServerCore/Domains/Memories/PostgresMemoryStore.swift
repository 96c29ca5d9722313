// The memories store over PostgreSQL. Every value is a bound parameter; SQL text is built only
// from fixed fragments and parameter numbers.
import WireProtocol

struct PostgresMemoryStore: MemoryStore, MemoryIndexSource {
    let pool: PostgresPool

    /// The item columns every read returns, in the order `item(from:row:offset:)` expects.
    private static let itemColumns = """
        i.namespace_path, i.key, i.value::text,
        (extract(epoch FROM i.created_at) * 1000000)::int8,
        (extract(epoch FROM i.updated_at) * 1000000)::int8,
        (extract(epoch FROM i.expires_at) * 1000000)::int8
        """
    private static let live = "(i.expires_at IS NULL OR i.expires_at > now())"

    // MARK: Collections

    func collections() async throws -> [MemoryCollection] {
        let rows = try await pool.query("SELECT name, dimension, metric FROM memory_collections ORDER BY name")
        return (0..<rows.count).compactMap { collection(rows, $0) }
    }

    func ensureCollection(_ collection: MemoryCollection) async throws -> MemoryCollection {
        let rows = try await pool.query("""
            WITH created AS (
                INSERT INTO memory_collections (name, dimension, metric) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO NOTHING RETURNING name, dimension, metric)
            SELECT name, dimension, metric FROM created
            UNION ALL SELECT name, dimension, metric FROM memory_collections WHERE name = $1
            """, [.text(collection.name), .integer(collection.dimension), .integer(collection.metric.rawValue)])
        guard !rows.isEmpty, let stored = self.collection(rows, 0) else {
            throw BackendError.rejected(backend: "postgres", reason: "collection \(collection.name) neither created nor found")
        }
        return stored
    }

    private func collection(_ rows: PostgresRows, _ row: Int) -> MemoryCollection? {
        guard let name = rows.string(row: row, column: 0), let dimension = rows.int64(row: row, column: 1),
              let metricValue = rows.int64(row: row, column: 2),
              let metric = MemoryMetric(rawValue: UInt8(clamping: metricValue)) else { return nil }
        return MemoryCollection(name: name, dimension: Int(dimension), metric: metric)
    }

    // MARK: Items

    func put(_ request: MemoryPutRequest, collection: MemoryCollection?) async throws -> MemoryPutOutcome {
        let path = MemoryNamespace.path(request.namespace)
        return try await pool.transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO memory_items AS i (namespace, namespace_path, key, value, created_at, updated_at,
                                               expires_at, ttl_ms)
                VALUES (string_to_array(left($1::text, -1), '.'), $1, $2, $3::jsonb, now(), now(),
                        now() + $4::int8 * interval '1 millisecond', $4::int8)
                ON CONFLICT (namespace_path, key) DO UPDATE SET
                    value = EXCLUDED.value,
                    created_at = CASE WHEN i.expires_at <= now() THEN EXCLUDED.created_at ELSE i.created_at END,
                    updated_at = EXCLUDED.updated_at,
                    expires_at = EXCLUDED.expires_at,
                    ttl_ms = EXCLUDED.ttl_ms,
                    change_seq = nextval('memory_change_seq')
                RETURNING i.id, (i.xmax = 0), \(Self.itemColumns)
                """, [.text(path), .text(request.key), .text(request.value),
                      request.timeToLiveMilliseconds.map { .integer($0) } ?? .null])
            guard rows.count == 1, let itemID = rows.int64(row: 0, column: 0),
                  let item = Self.item(rows, row: 0, offset: 2) else {
                throw BackendError.rejected(backend: "postgres", reason: "put returned no row")
            }
            let inserted = rows.string(row: 0, column: 1) == "t"
            var removed: [MemoryRemovedVector] = []
            if !inserted {
                let gone = try await connection.query(
                    "DELETE FROM memory_vectors WHERE item_id = $1 RETURNING id, collection", [.integer(itemID)])
                removed = Self.removedVectors(gone)
            }
            var added: [MemoryStoredVector] = []
            if let collection {
                for entry in request.vectors {
                    let row = try await connection.query("""
                        INSERT INTO memory_vectors (item_id, collection, field, dimension, embedding)
                        VALUES ($1, $2, $3, $4, $5::bytea) RETURNING id
                        """, [.integer(itemID), .text(collection.name), .text(entry.field),
                              .integer(entry.vector.count), .bytes(MemoryVectorBytes.encode(entry.vector))])
                    guard let id = row.int64(row: 0, column: 0) else {
                        throw BackendError.rejected(backend: "postgres", reason: "vector insert returned no id")
                    }
                    added.append(MemoryStoredVector(id: UInt64(id), collection: collection.name, vector: entry.vector))
                }
            }
            return MemoryPutOutcome(item: item, inserted: added, removed: removed)
        }
    }

    func item(namespacePath: String, key: String, refresh: Bool) async throws -> MemoryItem? {
        let rows = try await pool.query("""
            WITH refreshed AS (
                UPDATE memory_items AS i SET expires_at = now() + i.ttl_ms * interval '1 millisecond'
                WHERE i.namespace_path = $1 AND i.key = $2 AND $3::boolean
                  AND i.ttl_ms IS NOT NULL AND i.expires_at > now()
                RETURNING \(Self.itemColumns))
            SELECT * FROM refreshed
            UNION ALL
            SELECT \(Self.itemColumns) FROM memory_items AS i
            WHERE i.namespace_path = $1 AND i.key = $2 AND \(Self.live) AND NOT EXISTS (SELECT 1 FROM refreshed)
            """, [.text(namespacePath), .text(key), .text(refresh ? "true" : "false")])
        return rows.isEmpty ? nil : Self.item(rows, row: 0, offset: 0)
    }

    func delete(namespacePath: String, key: String) async throws -> [MemoryRemovedVector] {
        try await pool.transaction { connection in
            let gone = try await connection.query("""
                DELETE FROM memory_vectors WHERE item_id =
                    (SELECT id FROM memory_items WHERE namespace_path = $1 AND key = $2 FOR UPDATE)
                RETURNING id, collection
                """, [.text(namespacePath), .text(key)])
            _ = try await connection.query("DELETE FROM memory_items WHERE namespace_path = $1 AND key = $2",
                                           [.text(namespacePath), .text(key)])
            return Self.removedVectors(gone)
        }
    }

    func items(in scope: MemoryScope, withoutVectorsIn collection: String?, limit: Int, offset: Int,
               refresh: Bool) async throws -> [MemoryItem] {
        var parameters: [PostgresValue] = []
        var condition = Self.condition(scope, parameters: &parameters)
        var order = "i.updated_at DESC, i.id DESC"
        if let collection {
            parameters.append(.text(collection))
            condition += """
                 AND NOT EXISTS (SELECT 1 FROM memory_vectors AS v WHERE v.item_id = i.id AND v.collection = $\(parameters.count))
                """
            order = "i.created_at, i.id"
        }
        parameters.append(.integer(limit))
        parameters.append(.integer(offset))
        let rows = try await pool.query("""
            SELECT i.id, \(Self.itemColumns) FROM memory_items AS i WHERE \(condition)
            ORDER BY \(order) LIMIT $\(parameters.count - 1) OFFSET $\(parameters.count)
            """, parameters)
        var ids: [Int64] = []
        var items: [MemoryItem] = []
        for row in 0..<rows.count {
            guard let id = rows.int64(row: row, column: 0), let item = Self.item(rows, row: row, offset: 1) else { continue }
            ids.append(id)
            items.append(item)
        }
        if refresh && !ids.isEmpty {
            let expiries = try await refreshExpiry(itemIDs: ids)
            for index in items.indices {
                if let expiry = expiries[ids[index]] { items[index].expiresAtMicroseconds = expiry }
            }
        }
        return items
    }

    func vectorIDs(in collection: String, scope: MemoryScope) async throws -> Set<UInt64> {
        var parameters: [PostgresValue] = [.text(collection)]
        let condition = Self.condition(scope, parameters: &parameters)
        let rows = try await pool.query("""
            SELECT v.id FROM memory_vectors AS v JOIN memory_items AS i ON i.id = v.item_id
            WHERE v.collection = $1 AND \(condition)
            """, parameters, resultFormat: .binary)
        var ids = Set<UInt64>(minimumCapacity: rows.count)
        for row in 0..<rows.count {
            if let id = rows.int64(row: row, column: 0) { ids.insert(UInt64(id)) }
        }
        return ids
    }

    func items(forVectorIDs ids: [UInt64], scope: MemoryScope) async throws -> [UInt64: MemoryVectorHit] {
        guard !ids.isEmpty else { return [:] }
        let query = Self.hitItemsQuery(vectorIDs: ids, scope: scope)
        let rows = try await pool.query(query.sql, query.parameters)
        var hits: [UInt64: MemoryVectorHit] = [:]
        for row in 0..<rows.count {
            guard let vectorID = rows.int64(row: row, column: 0), let itemID = rows.int64(row: row, column: 1),
                  let item = Self.item(rows, row: row, offset: 2) else { continue }
            hits[UInt64(vectorID)] = MemoryVectorHit(itemID: itemID, item: item)
        }
        return hits
    }

    /// The re-read of vector-search hits: each hit's vector id, item id and item columns, for the
    /// hits still in `scope`. Internal so that a test can EXPLAIN exactly this text
    /// (MemorySearchPlanTests).
    static func hitItemsQuery(vectorIDs ids: [UInt64], scope: MemoryScope) -> (sql: String, parameters: [PostgresValue]) {
        var parameters: [PostgresValue] = [.text("{" + ids.map(String.init).joined(separator: ",") + "}")]
        let condition = Self.condition(scope, parameters: &parameters)
        // The hits are few (the index's ranking); start from them and fetch each item by primary
        // key, then check the scope on those few rows. Whenever the scope could steer the scan,
        // the planner, misled by a namespace range it believes narrow (statistics from before
        // the namespace filled up), walked every in-scope item instead: 50 ms at 500 items and
        // seconds at 10k as a plain join; with the hits in a materialized CTE still a hash join
        // over the whole range, and with the scope inside a lateral subquery a range scan per hit
        // (MemorySearchPlanTests). The subquery holds only the primary-key lookup, and OFFSET 0
        // keeps the scope out of it (PostgreSQL neither flattens such a subquery nor pushes
        // conditions into it).
        let sql = """
            WITH hits AS MATERIALIZED (
                SELECT id, item_id FROM memory_vectors WHERE id = ANY($1::int8[])
            )
            SELECT v.id, i.id, \(Self.itemColumns)
            FROM hits AS v CROSS JOIN LATERAL (
                SELECT * FROM memory_items WHERE memory_items.id = v.item_id OFFSET 0
            ) AS i
            WHERE \(condition)
            """
        return (sql, parameters)
    }

    func refreshExpiry(itemIDs: [Int64]) async throws -> [Int64: Int64] {
        guard !itemIDs.isEmpty else { return [:] }
        let rows = try await pool.query("""
            UPDATE memory_items SET expires_at = now() + ttl_ms * interval '1 millisecond'
            WHERE id = ANY($1::int8[]) AND ttl_ms IS NOT NULL AND expires_at > now()
            RETURNING id, (extract(epoch FROM expires_at) * 1000000)::int8
            """, [.text("{" + itemIDs.map(String.init).joined(separator: ",") + "}")])
        var expiries: [Int64: Int64] = [:]
        for row in 0..<rows.count {
            if let id = rows.int64(row: row, column: 0), let expiry = rows.int64(row: row, column: 1) {
                expiries[id] = expiry
            }
        }
        return expiries
    }

    func listNamespaces(_ request: MemoryListNamespacesRequest) async throws -> [[String]] {
        var parameters: [PostgresValue] = []
        var conditions = [Self.live]
        func parameter(_ value: PostgresValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let prefix = request.prefix, !prefix.isEmpty {
            conditions.append("cardinality(i.namespace) >= \(parameter(.integer(prefix.count)))")
            if !prefix.contains("*") {
                // A prefix without wildcards is a path range on the btree index.
                let path = MemoryNamespace.path(prefix)
                conditions.append("i.namespace_path >= \(parameter(.text(path)))")
                conditions.append("i.namespace_path < \(parameter(.text(MemoryNamespace.upperBound(ofPrefixPath: path)!)))")
            }
            for (index, label) in prefix.enumerated() where label != "*" {
                conditions.append("i.namespace[\(index + 1)] = \(parameter(.text(label)))")
            }
        }
        if let suffix = request.suffix, !suffix.isEmpty {
            let length = parameter(.integer(suffix.count))
            conditions.append("cardinality(i.namespace) >= \(length)")
            for (index, label) in suffix.enumerated() where label != "*" {
                conditions.append("i.namespace[cardinality(i.namespace) - \(length)::int + \(index + 1)] = \(parameter(.text(label)))")
            }
        }
        let namespace = request.maxDepth.map { "i.namespace[1:\(parameter(.integer($0)))]" } ?? "i.namespace"
        let limit = parameter(.integer(request.limit))
        let offset = parameter(.integer(request.offset))
        let rows = try await pool.query("""
            SELECT array_to_string(ns, '.') FROM (
                SELECT DISTINCT \(namespace) AS ns FROM memory_items AS i WHERE \(conditions.joined(separator: " AND "))
            ) AS found ORDER BY ns LIMIT \(limit) OFFSET \(offset)
            """, parameters)
        return (0..<rows.count).compactMap { rows.string(row: $0, column: 0) }.map { MemoryNamespace.labels(ofPath: $0) }
    }

    func deleteExpired(limit: Int) async throws -> (count: Int, removed: [MemoryRemovedVector]) {
        try await pool.transaction { connection in
            let expired = try await connection.query("""
                SELECT id FROM memory_items WHERE expires_at <= now() ORDER BY expires_at
                LIMIT $1 FOR UPDATE SKIP LOCKED
                """, [.integer(limit)])
            let ids = (0..<expired.count).compactMap { expired.int64(row: $0, column: 0) }
            guard !ids.isEmpty else { return (0, []) }
            let array = PostgresValue.text("{" + ids.map(String.init).joined(separator: ",") + "}")
            let gone = try await connection.query(
                "DELETE FROM memory_vectors WHERE item_id = ANY($1::int8[]) RETURNING id, collection", [array])
            // Re-checked: a put may have replaced the item (and its expiry) since the SELECT.
            let deleted = try await connection.query(
                "DELETE FROM memory_items WHERE id = ANY($1::int8[]) AND expires_at <= now()", [array])
            return (deleted.affectedRowCount, Self.removedVectors(gone))
        }
    }

    // MARK: Index source

    func indexState() async throws -> (databaseID: String, tombstoneHorizon: UInt64, lastChange: UInt64) {
        let rows = try await pool.query("""
            SELECT database_id::text, tombstone_horizon, (SELECT last_value FROM memory_change_seq) FROM memory_state
            """)
        guard !rows.isEmpty, let id = rows.string(row: 0, column: 0), let horizon = rows.int64(row: 0, column: 1),
              let last = rows.int64(row: 0, column: 2) else {
            throw BackendError.rejected(backend: "postgres", reason: "memory_state is empty")
        }
        return (id, UInt64(max(0, horizon)), UInt64(max(0, last)))
    }

    func vectors(in collection: String, after change: UInt64, limit: Int) async throws
        -> [(change: UInt64, vector: MemoryStoredVector)]
    {
        let rows = try await pool.query("""
            SELECT change_seq, id, embedding FROM memory_vectors
            WHERE collection = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3
            """, [.text(collection), .integer(change), .integer(limit)], resultFormat: .binary)
        var result: [(change: UInt64, vector: MemoryStoredVector)] = []
        result.reserveCapacity(rows.count)
        for row in 0..<rows.count {
            guard let seq = rows.int64(row: row, column: 0), let id = rows.int64(row: row, column: 1),
                  let bytes = rows.bytea(row: row, column: 2) else { continue }
            result.append((UInt64(seq), MemoryStoredVector(id: UInt64(id), collection: collection,
                                                            vector: MemoryVectorBytes.decode(bytes))))
        }
        return result
    }

    func tombstones(in collection: String, after change: UInt64, limit: Int) async throws -> [(change: UInt64, id: UInt64)] {
        let rows = try await pool.query("""
            SELECT change_seq, vector_id FROM memory_vector_tombstones
            WHERE collection = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3
            """, [.text(collection), .integer(change), .integer(limit)], resultFormat: .binary)
        return (0..<rows.count).compactMap { row in
            guard let seq = rows.int64(row: row, column: 0), let id = rows.int64(row: row, column: 1) else { return nil }
            return (UInt64(seq), UInt64(id))
        }
    }

    func claimIndexOwnership(instance: String) async throws {
        _ = try await pool.query("UPDATE memory_state SET index_owner = $1", [.text(instance)])
    }

    func isIndexOwner(instance: String) async throws -> Bool {
        let rows = try await pool.query("SELECT index_owner = $1 FROM memory_state", [.text(instance)])
        return rows.string(row: 0, column: 0) == "t"
    }

    func pruneTombstones(upTo change: UInt64, olderThan age: Duration) async throws {
        _ = try await pool.query("""
            WITH pruned AS (
                DELETE FROM memory_vector_tombstones
                WHERE change_seq <= $1 AND deleted_at < now() - $2::int8 * interval '1 millisecond'
                RETURNING change_seq)
            UPDATE memory_state SET tombstone_horizon = GREATEST(tombstone_horizon, (SELECT max(change_seq) FROM pruned))
            WHERE EXISTS (SELECT 1 FROM pruned)
            """, [.integer(change), .integer(age.components.seconds * 1000)])
    }

    // MARK: Following

    func lastChange() async throws -> UInt64 {
        let rows = try await pool.query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM memory_change_seq")
        return UInt64(max(0, rows.int64(row: 0, column: 0) ?? 0))
    }

    /// Any mode but ACCESS SHARE (which readers, searches and followers included, hold) counts
    /// as a writer; waiting requests count too, which is only conservative.
    private static let writersQuery = """
        SELECT coalesce(string_agg(DISTINCT virtualtransaction, ','), '') FROM pg_locks
        WHERE locktype = 'relation' AND mode <> 'AccessShareLock' AND pid IS DISTINCT FROM pg_backend_pid()
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND relation IN ('memory_vectors'::regclass, 'memory_vector_tombstones'::regclass)
        """

    func vectorWriters() async throws -> Set<String> {
        let rows = try await pool.query(Self.writersQuery)
        return Self.writerSet(rows.string(row: 0, column: 0))
    }

    private static func writerSet(_ text: String?) -> Set<String> {
        Set((text ?? "").split(separator: ",").map(String.init))
    }

    func followChanges(after change: UInt64, pageRows: Int, apply: (MemoryChangePage) async throws -> Void)
        async throws -> MemoryFollowRead
    {
        try await pool.transaction { connection in
            _ = try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            // The first statement takes the snapshot before it runs, so pg_locks is read after it.
            let state = try await connection.query("SELECT tombstone_horizon, (\(Self.writersQuery)) FROM memory_state")
            guard let horizon = state.int64(row: 0, column: 0) else {
                throw BackendError.rejected(backend: "postgres", reason: "memory_state is empty")
            }
            var read = MemoryFollowRead(tombstoneHorizon: UInt64(max(0, horizon)),
                                        writers: Self.writerSet(state.string(row: 0, column: 1)), highestChange: 0)
            guard read.tombstoneHorizon <= change else { return read }
            // Per collection through its (collection, change_seq) index, merged in change order.
            var cursor = change
            while true {
                let rows = try await connection.query("""
                    SELECT v.change_seq, v.id, v.collection, v.embedding FROM memory_collections AS c
                    CROSS JOIN LATERAL (
                        SELECT change_seq, id, collection, embedding FROM memory_vectors
                        WHERE collection = c.name AND change_seq > $1 ORDER BY change_seq LIMIT $2) AS v
                    ORDER BY v.change_seq LIMIT $2
                    """, [.integer(cursor), .integer(pageRows)], resultFormat: .binary)
                var page = MemoryChangePage()
                for row in 0..<rows.count {
                    guard let seq = rows.int64(row: row, column: 0), let id = rows.int64(row: row, column: 1),
                          let name = rows.string(row: row, column: 2), let bytes = rows.bytea(row: row, column: 3) else { continue }
                    page.vectors.append((UInt64(seq), MemoryStoredVector(id: UInt64(id), collection: name,
                                                                         vector: MemoryVectorBytes.decode(bytes))))
                }
                guard let last = page.vectors.last?.change else { break }
                try await apply(page)
                cursor = last
                read.highestChange = max(read.highestChange, last)
                if rows.count < pageRows { break }
            }
            cursor = change
            while true {
                let rows = try await connection.query("""
                    SELECT t.change_seq, t.vector_id, t.collection FROM memory_collections AS c
                    CROSS JOIN LATERAL (
                        SELECT change_seq, vector_id, collection FROM memory_vector_tombstones
                        WHERE collection = c.name AND change_seq > $1 ORDER BY change_seq LIMIT $2) AS t
                    ORDER BY t.change_seq LIMIT $2
                    """, [.integer(cursor), .integer(pageRows)], resultFormat: .binary)
                var page = MemoryChangePage()
                for row in 0..<rows.count {
                    guard let seq = rows.int64(row: row, column: 0), let id = rows.int64(row: row, column: 1),
                          let name = rows.string(row: row, column: 2) else { continue }
                    page.tombstones.append((UInt64(seq), MemoryRemovedVector(id: UInt64(id), collection: name)))
                }
                guard let last = page.tombstones.last?.change else { break }
                try await apply(page)
                cursor = last
                read.highestChange = max(read.highestChange, last)
                if rows.count < pageRows { break }
            }
            return read
        }
    }

    // MARK: Row decoding and SQL fragments

    /// Expiry, prefix range and filter conditions on alias `i`, appending their parameters.
    private static func condition(_ scope: MemoryScope, parameters: inout [PostgresValue]) -> String {
        var conditions = [live]
        if let upper = MemoryNamespace.upperBound(ofPrefixPath: scope.prefixPath) {
            parameters.append(.text(scope.prefixPath))
            parameters.append(.text(upper))
            conditions.append("i.namespace_path >= $\(parameters.count - 1) AND i.namespace_path < $\(parameters.count)")
        }
        if let filter = scope.filter {
            parameters.append(.text(filter))
            if MemoryJSON.isContainmentPrefilter(filter) {
                conditions.append("i.value @> $\(parameters.count)::jsonb")
            }
            conditions.append("memory_filter_match(i.value, $\(parameters.count)::jsonb)")
        }
        return conditions.joined(separator: " AND ")
    }

    private static func item(_ rows: PostgresRows, row: Int, offset: Int) -> MemoryItem? {
        guard let path = rows.string(row: row, column: offset), let key = rows.string(row: row, column: offset + 1),
              let value = rows.string(row: row, column: offset + 2),
              let created = rows.int64(row: row, column: offset + 3),
              let updated = rows.int64(row: row, column: offset + 4) else { return nil }
        return MemoryItem(namespace: MemoryNamespace.labels(ofPath: path), key: key, value: value,
                          createdAtMicroseconds: created, updatedAtMicroseconds: updated,
                          expiresAtMicroseconds: rows.int64(row: row, column: offset + 5))
    }

    private static func removedVectors(_ rows: PostgresRows) -> [MemoryRemovedVector] {
        (0..<rows.count).compactMap { row in
            guard let id = rows.int64(row: row, column: 0), let collection = rows.string(row: row, column: 1) else { return nil }
            return MemoryRemovedVector(id: UInt64(id), collection: collection)
        }
    }
}

/// Vectors as stored in `memory_vectors.embedding`: float32 little-endian.
enum MemoryVectorBytes {
    static func encode(_ vector: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for component in vector {
            let bits = component.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> [Float] {
        var vector: [Float] = []
        vector.reserveCapacity(bytes.count / 4)
        var index = 0
        while index + 4 <= bytes.count {
            let bits = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                | UInt32(bytes[index + 3]) << 24
            vector.append(Float(bitPattern: bits))
            index += 4
        }
        return vector
    }
}
