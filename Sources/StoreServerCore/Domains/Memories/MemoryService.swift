// The memories operations: validation, PostgreSQL first, then the in-process index. Handlers
// and MEMORY_BATCH both call these.
import Foundation
import Synchronization
import VectorIndex
import WireProtocol

/// Thread safety: `readiness` is a Mutex; the store, catalogue and gate are Sendable.
final class MemoryService: Sendable {
    let store: any MemoryStore
    let catalogue: MemoryIndexCatalogue
    let follower: MemoryIndexFollower
    let gate = MemoryWriteGate()
    let configuration: MemoryConfiguration
    let logger: Logger
    /// Identifies this server to `memory_state.index_owner`.
    let instance = UUID().uuidString
    private let readiness = Mutex<Task<Void, any Error>?>(nil)

    init(store: any MemoryStore & MemoryIndexSource, configuration: MemoryConfiguration, logger: Logger) {
        self.store = store
        let catalogue = MemoryIndexCatalogue(source: store, configuration: configuration, logger: logger)
        self.catalogue = catalogue
        self.follower = MemoryIndexFollower(source: store, catalogue: catalogue, gate: gate, logger: logger)
        self.configuration = configuration
        self.logger = logger
    }

    /// Waits until the index is loaded, starting the load on first use. A failed load (say,
    /// PostgreSQL down at start) is retried by the next caller.
    func ready() async throws {
        let task = readiness.withLock { current in
            if let current { return current }
            let task = Task { try await self.catalogue.load(instance: self.instance) }
            current = task
            return task
        }
        do {
            try await task.value
        } catch {
            readiness.withLock { current in if current == task { current = nil } }
            throw error
        }
    }

    // MARK: Operations

    func ensureCollection(_ request: MemoryCollectionEnsureRequest, limits: ProtocolLimits) async throws {
        guard !request.name.isEmpty, request.name.utf8.count <= MemoryLimits.collectionNameBytesMax else {
            throw RequestError.invalidArgument(field: "name", "must be 1 to \(MemoryLimits.collectionNameBytesMax) bytes")
        }
        guard (1...UInt32(min(limits.vectorDimensionMax, VectorIndexLimits.dimensionMax))).contains(request.dimension) else {
            throw RequestError.invalidArgument(field: "dimension", "must be 1 to \(limits.vectorDimensionMax)")
        }
        guard let metric = MemoryMetric(rawValue: request.metric) else {
            throw RequestError.invalidArgument(field: "metric", "must be 1 (cosine), 2 (l2) or 3 (inner_product)")
        }
        try await ready()
        let wanted = MemoryCollection(name: request.name, dimension: Int(request.dimension), metric: metric)
        let stored = try await store.ensureCollection(wanted)
        guard stored == wanted else {
            throw RequestError(.conflict, "collection \(stored.name) exists with dimension \(stored.dimension) and metric \(stored.metric)",
                               details: ["dimension": .int(Int64(stored.dimension)), "metric": .int(Int64(stored.metric.rawValue))])
        }
        _ = try await catalogue.resolve(stored.name, gate: gate)
    }

    func put(_ request: MemoryPutRequest, limits: ProtocolLimits) async throws -> MemoryItem {
        try MemoryNamespace.validate(request.namespace, field: "namespace")
        try MemoryNamespace.validateKey(request.key)
        try MemoryJSON.validateValue(request.value)
        if let ttl = request.timeToLiveMilliseconds, !(1...MemoryLimits.timeToLiveMillisecondsMax).contains(ttl) {
            throw RequestError.invalidArgument(field: "ttl_ms", "must be 1 to \(MemoryLimits.timeToLiveMillisecondsMax)")
        }
        guard request.vectors.count <= MemoryLimits.vectorsPerItemMax else {
            throw RequestError.invalidArgument(field: "vectors", "more than \(MemoryLimits.vectorsPerItemMax)")
        }
        guard Set(request.vectors.map(\.field)).count == request.vectors.count else {
            throw RequestError.invalidArgument(field: "vectors", "each field may have one vector")
        }
        try await ready()
        var collection: MemoryCollection?
        if !request.collection.isEmpty {
            collection = try await self.collection(named: request.collection)
            for entry in request.vectors {
                try Self.check(entry.vector, against: collection!, field: "vectors")
            }
        } else if !request.vectors.isEmpty {
            throw RequestError.invalidArgument(field: "collection", "vectors need a collection")
        }
        return try await gate.write {
            let outcome = try await store.put(request, collection: collection)
            // Committed: only now may the index show it.
            await catalogue.apply(inserted: outcome.inserted, removed: outcome.removed)
            return outcome.item
        }
    }

    func get(_ request: MemoryGetRequest) async throws -> MemoryItem? {
        try MemoryNamespace.validate(request.namespace, field: "namespace")
        try MemoryNamespace.validateKey(request.key)
        return try await store.item(namespacePath: MemoryNamespace.path(request.namespace), key: request.key,
                                    refresh: request.refreshTimeToLive)
    }

    func delete(_ request: MemoryDeleteRequest) async throws {
        try MemoryNamespace.validate(request.namespace, field: "namespace")
        try MemoryNamespace.validateKey(request.key)
        try await ready()
        try await gate.write {
            let removed = try await store.delete(namespacePath: MemoryNamespace.path(request.namespace), key: request.key)
            await catalogue.apply(inserted: [], removed: removed)
        }
    }

    func search(_ request: MemorySearchRequest, limits: ProtocolLimits) async throws -> [MemorySearchItem] {
        try MemoryNamespace.validate(request.namespacePrefix, field: "namespace_prefix", allowsEmpty: true)
        if let filter = request.filter { try MemoryJSON.validateFilter(filter) }
        guard request.limit >= 1, request.limit <= limits.searchCountMax else {
            throw RequestError.invalidArgument(field: "limit", "must be 1 to \(limits.searchCountMax)")
        }
        guard Int(request.offset) + Int(request.limit) <= MemoryLimits.searchWindowMax else {
            throw RequestError.invalidArgument(field: "offset", "offset + limit must not exceed \(MemoryLimits.searchWindowMax)")
        }
        let scope = MemoryScope(prefixPath: MemoryNamespace.path(request.namespacePrefix), filter: request.filter)
        guard let query = request.query else {
            let items = try await store.items(in: scope, withoutVectorsIn: nil, limit: Int(request.limit),
                                              offset: Int(request.offset), refresh: request.refreshTimeToLive)
            return items.map { MemorySearchItem(item: $0, score: nil) }
        }
        guard !request.collection.isEmpty else {
            throw RequestError.invalidArgument(field: "collection", "a query vector needs a collection")
        }
        try await ready()
        let memoryIndex = try await index(named: request.collection)
        try Self.check(query, against: memoryIndex.collection, field: "query")
        let search = MemoryVectorSearch(store: store, index: memoryIndex, workers: catalogue.workers, scope: scope,
                                        searchWidth: configuration.indexParameters.searchWidth)
        let (page, scoredCount) = try await search.run(query: query, offset: Int(request.offset), limit: Int(request.limit))
        var results = page
        if request.refreshTimeToLive {
            let expiries = try await store.refreshExpiry(itemIDs: results.map(\.itemID))
            for index in results.indices {
                if let expiry = expiries[results[index].itemID] { results[index].item.item.expiresAtMicroseconds = expiry }
            }
        }
        var items = results.map(\.item)
        if let scoredCount, items.count < Int(request.limit) {
            // As LangGraph's stores do: items without a vector in the collection follow the
            // scored ones (score absent), as if appended to the ranking.
            let unscored = try await store.items(in: scope, withoutVectorsIn: memoryIndex.collection.name,
                                                 limit: Int(request.limit) - items.count,
                                                 offset: max(0, Int(request.offset) - scoredCount),
                                                 refresh: request.refreshTimeToLive)
            items += unscored.map { MemorySearchItem(item: $0, score: nil) }
        }
        return items
    }

    func listNamespaces(_ request: MemoryListNamespacesRequest) async throws -> [[String]] {
        if let prefix = request.prefix { try MemoryNamespace.validate(prefix, field: "prefix", allowsEmpty: true) }
        if let suffix = request.suffix { try MemoryNamespace.validate(suffix, field: "suffix", allowsEmpty: true) }
        if let depth = request.maxDepth, depth < 1 {
            throw RequestError.invalidArgument(field: "max_depth", "must be at least 1")
        }
        guard request.limit <= MemoryLimits.listNamespacesLimitMax else {
            throw RequestError.invalidArgument(field: "limit", "must be at most \(MemoryLimits.listNamespacesLimitMax)")
        }
        guard request.limit > 0 else { return [] }
        return try await store.listNamespaces(request)
    }

    /// Deletes expired items and their vectors in batches until none is left; returns how many.
    func sweepExpired() async throws -> Int {
        try await ready()
        var total = 0
        while true {
            let count = try await gate.write {
                let outcome = try await store.deleteExpired(limit: configuration.sweepBatchRows)
                await catalogue.apply(inserted: [], removed: outcome.removed)
                return outcome.count
            }
            total += count
            // A short batch means no expired row was left (or the rest are locked by writers).
            if count < configuration.sweepBatchRows { break }
        }
        return total
    }

    func writeSnapshotIfDue() async throws {
        guard catalogue.isSnapshotDue else { return }
        try await catalogue.writeSnapshots(instance: instance)
    }

    /// On a clean stop (background tasks ended): follows until the cursor covers this
    /// server's writes, then writes the snapshots if anything changed since the last one, so
    /// the next start replays nothing. A failure is logged; the next start catches up instead.
    func writeSnapshotOnStop() async {
        guard readiness.withLock({ $0 != nil }) else { return } // Never loaded: nothing to write.
        do {
            try await ready()
            try await follower.settle()
            guard catalogue.hasChangesSinceSnapshot else { return }
            try await catalogue.writeSnapshots(instance: instance)
        } catch {
            logger.warning("index snapshot on stop failed; the next start catches up from the last one", ["error": error])
        }
    }

    // MARK: Checks

    private func index(named name: String) async throws -> MemoryIndex {
        guard let memoryIndex = try await catalogue.resolve(name, gate: gate) else {
            throw RequestError(.notFound, "collection \(name) not found", details: ["collection": .string(name)])
        }
        return memoryIndex
    }

    private func collection(named name: String) async throws -> MemoryCollection {
        try await index(named: name).collection
    }

    static func check(_ vector: [Float], against collection: MemoryCollection, field: String) throws(RequestError) {
        guard vector.count == collection.dimension else {
            throw RequestError(.dimensionMismatch,
                               "\(field): dimension \(vector.count), collection \(collection.name) has \(collection.dimension)",
                               details: ["field": .string(field), "expected": .int(Int64(collection.dimension)),
                                         "actual": .int(Int64(vector.count))])
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw RequestError.invalidArgument(field: field, "NaN and infinity are not allowed")
        }
        if collection.metric == .cosine, vector.allSatisfy({ $0 == 0 }) {
            throw RequestError.invalidArgument(field: field, "a zero vector has no cosine similarity")
        }
    }
}
