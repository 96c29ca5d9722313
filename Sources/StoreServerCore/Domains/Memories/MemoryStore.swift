// What the memories handlers need from storage, and what the in-process index needs to load
// and catch up. PostgreSQL is the source of truth; `PostgresMemoryStore` implements both.
import WireProtocol

/// A vector collection: fixed dimension and metric.
struct MemoryCollection: Sendable, Hashable {
    var name: String
    var dimension: Int
    var metric: MemoryMetric
}

/// A committed vector row, as the index needs it.
struct MemoryStoredVector: Sendable {
    var id: UInt64
    var collection: String
    var vector: [Float]
}

/// A vector row that a committed write deleted; the index must drop it.
struct MemoryRemovedVector: Sendable, Hashable {
    var id: UInt64
    var collection: String
}

/// What a committed put changed: the stored item and the vector rows added and removed.
struct MemoryPutOutcome: Sendable {
    var item: MemoryItem
    var inserted: [MemoryStoredVector]
    var removed: [MemoryRemovedVector]
}

/// Which items a search may return: a namespace path prefix ("" = all) and an optional filter
/// (JSON text, evaluated in SQL by `memory_filter_match`). Expired items are always excluded.
struct MemoryScope: Sendable {
    var prefixPath: String
    var filter: String?

    var isUnrestricted: Bool { prefixPath.isEmpty && filter == nil }
}

/// An item found through one of its vectors.
struct MemoryVectorHit: Sendable {
    var itemID: Int64
    var item: MemoryItem
}

protocol MemoryStore: Sendable {
    func collections() async throws -> [MemoryCollection]
    /// Creates the collection or returns the one already stored under that name.
    func ensureCollection(_ collection: MemoryCollection) async throws -> MemoryCollection
    /// Inserts or replaces the item and its vectors in one transaction. `vectors` were checked
    /// against `collection` by the caller.
    func put(_ request: MemoryPutRequest, collection: MemoryCollection?) async throws -> MemoryPutOutcome
    /// The live item, its expiry pushed forward first when `refresh` is set and it has a ttl.
    func item(namespacePath: String, key: String, refresh: Bool) async throws -> MemoryItem?
    /// Deletes the item; returns the vector rows that went with it.
    func delete(namespacePath: String, key: String) async throws -> [MemoryRemovedVector]
    /// Live items in scope, most recently updated first; or, with `withoutVectorsIn`, those
    /// with no vector in that collection, oldest first (they follow the scored items of a
    /// vector search).
    func items(in scope: MemoryScope, withoutVectorsIn collection: String?, limit: Int, offset: Int,
               refresh: Bool) async throws -> [MemoryItem]
    /// Ids of the vectors of `collection` whose items are live and in scope.
    func vectorIDs(in collection: String, scope: MemoryScope) async throws -> Set<UInt64>
    /// The live, in-scope items owning the given vector ids, by vector id.
    func items(forVectorIDs ids: [UInt64], scope: MemoryScope) async throws -> [UInt64: MemoryVectorHit]
    /// Pushes the expiry of the given items forward by their ttl; returns new expiries (µs).
    func refreshExpiry(itemIDs: [Int64]) async throws -> [Int64: Int64]
    func listNamespaces(_ request: MemoryListNamespacesRequest) async throws -> [[String]]
    /// Deletes up to `limit` expired items; returns how many and the vectors removed.
    func deleteExpired(limit: Int) async throws -> (count: Int, removed: [MemoryRemovedVector])
}

/// The change feed the index is built and caught up from.
protocol MemoryIndexSource: Sendable {
    func collections() async throws -> [MemoryCollection]
    /// The database's identity (snapshots are only valid for it), the tombstone horizon and
    /// the change sequence's last value.
    func indexState() async throws -> (databaseID: String, tombstoneHorizon: UInt64, lastChange: UInt64)
    /// Vectors of `collection` changed after `change`, in change order, at most `limit`.
    func vectors(in collection: String, after change: UInt64, limit: Int) async throws
        -> [(change: UInt64, vector: MemoryStoredVector)]
    /// Vector ids deleted from `collection` after `change`, in change order, at most `limit`.
    func tombstones(in collection: String, after change: UInt64, limit: Int) async throws
        -> [(change: UInt64, id: UInt64)]
    /// Makes `instance` the one server that writes index snapshots for this database.
    func claimIndexOwnership(instance: String) async throws
    func isIndexOwner(instance: String) async throws -> Bool
    /// Deletes tombstones at or below `change` older than `age`, raising the horizon.
    func pruneTombstones(upTo change: UInt64, olderThan age: Duration) async throws

    // Following other servers' writes (see MemoryFollowCursor for the scheme).

    /// The last change number handed out, 0 if none.
    func lastChange() async throws -> UInt64
    /// Transactions (virtual ids) now holding a write lock on the vector or tombstone table:
    /// every transaction that took a change number and has not ended is among them.
    func vectorWriters() async throws -> Set<String>
    /// In one REPEATABLE READ snapshot: the tombstone horizon and the lock holders listed after
    /// the snapshot was taken; then, unless the horizon is above `change`, every vector and
    /// tombstone above `change` in pages of at most `pageRows`, all vectors before any
    /// tombstone, each page handed to `apply` before the next is read.
    func followChanges(after change: UInt64, pageRows: Int, apply: (MemoryChangePage) async throws -> Void)
        async throws -> MemoryFollowRead
}

/// Changes read by the follower (or made by this server), in change order within each list.
struct MemoryChangePage: Sendable {
    var vectors: [(change: UInt64, vector: MemoryStoredVector)] = []
    var tombstones: [(change: UInt64, vector: MemoryRemovedVector)] = []
}

struct MemoryFollowRead: Sendable {
    var tombstoneHorizon: UInt64
    /// Lock holders listed after the read's snapshot was taken.
    var writers: Set<String>
    /// The highest change read; 0 when none.
    var highestChange: UInt64
}
