// Every collection's in-process index: loading at start (snapshot plus catch-up, or a rebuild
// from PostgreSQL), applying committed writes, and writing snapshots.
import Foundation
import Synchronization
import VectorIndex

/// Thread safety: the dictionary and counters live in `state` (a Mutex); each MemoryIndex is
/// itself thread-safe.
final class MemoryIndexCatalogue: Sendable {
    private struct State {
        var indexes: [String: MemoryIndex] = [:]
        var changesSinceSnapshot = 0
        var lastSnapshot = ContinuousClock.now
        var snapshotRequested = false
        var followedThrough: UInt64 = 0
        var loadGeneration = 0
    }

    /// Rows fetched per round trip while loading: large enough to amortize the query, small
    /// enough (2,000 × 1.5 KiB for 384 dimensions) to keep the result in a few MiB.
    static let loadPageRows = 2_000
    /// Threads that link a loading page into the graph. Loading is mostly graph inserts, and at
    /// start nothing else waits for the cores; while serving, a page still holds the index's
    /// write lock only as long as it takes.
    static let loadParallelism = ProcessInfo.processInfo.activeProcessorCount
    /// Progress is logged every this many vectors while loading.
    static let loadProgressInterval = 20_000
    /// How long a load waits for the vector writes in flight at its start to end. Writes take
    /// milliseconds; a transaction open longer (a stuck client) must not hold the start back.
    static let fenceWaitMax: Duration = .seconds(10)
    static let fencePollInterval: Duration = .milliseconds(20)

    private let source: any MemoryIndexSource
    private let configuration: MemoryConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    let workers = MemoryIndexWorkers()

    init(source: any MemoryIndexSource, configuration: MemoryConfiguration, logger: Logger) {
        self.source = source
        self.configuration = configuration
        self.logger = logger
    }

    func index(named name: String) -> MemoryIndex? {
        state.withLock { $0.indexes[name] }
    }

    var totalVectorCount: Int {
        state.withLock { Array($0.indexes.values) }.reduce(0) { $0 + $1.index.count }
    }

    /// The index of `name`, loading it from PostgreSQL when the collection was created after
    /// start (by this server or another). Runs with writes held off, so no committed write can
    /// fall between the load and the registration. Nil when no such collection exists.
    func resolve(_ name: String, gate: MemoryWriteGate) async throws -> MemoryIndex? {
        if let known = index(named: name) { return known }
        return try await gate.exclusively {
            if let known = index(named: name) { return known }
            guard let collection = try await source.collections().first(where: { $0.name == name }) else { return nil }
            let database = try await source.indexState()
            let (loaded, _) = try await loadIndex(collection, database: database)
            state.withLock { $0.indexes[name] = loaded }
            return loaded
        }
    }

    /// Applies a committed write; vectors of unknown collections are ignored (they are loaded
    /// from PostgreSQL when the collection's index is created).
    func apply(inserted: [MemoryStoredVector], removed: [MemoryRemovedVector]) async {
        guard !inserted.isEmpty || !removed.isEmpty else { return }
        let page = MemoryChangePage(vectors: inserted.map { (MemoryIndex.unknownChange, $0) },
                                    tombstones: removed.map { (MemoryIndex.unknownChange, $0) })
        _ = try? await workers.run { self.applyNow(page) }  // never throws: applyNow reports its own failures
    }

    /// Applies changes the follower read; returns how many changed an index and the names of
    /// collections this server has no index for (their changes were skipped).
    func applyFollowed(_ page: MemoryChangePage) async -> (applied: Int, unknownCollections: Set<String>) {
        (try? await workers.run { self.applyNow(page) }) ?? (0, [])  // never throws: applyNow reports its own failures
    }

    /// Removals first, then inserts, per collection (ids are never reused, so the order between
    /// a removal and an insert of different ids does not matter).
    private func applyNow(_ page: MemoryChangePage) -> (applied: Int, unknownCollections: Set<String>) {
        let names = Set(page.vectors.map(\.vector.collection)).union(page.tombstones.map(\.vector.collection))
        var applied = 0
        var unknown = Set<String>()
        for name in names {
            guard let memoryIndex = index(named: name) else {
                unknown.insert(name)
                continue
            }
            do {
                applied += try memoryIndex.apply(
                    inserted: page.vectors.filter { $0.vector.collection == name }.map(\.vector),
                    removed: page.tombstones.filter { $0.vector.collection == name }.map { ($0.vector.id, $0.change) })
            } catch {
                // The row is committed; the index lacks it until the next load. Searches stay
                // correct (they never return what the index lacks, but this is a bug to see).
                logger.error("index update failed after commit", ["collection": name, "error": error])
            }
        }
        state.withLock { $0.changesSinceSnapshot += applied }
        return (applied, unknown)
    }

    // MARK: Following

    /// Every change at or below it is in the indexes (or was aborted); snapshots carry it.
    var followedThrough: UInt64 { state.withLock { $0.followedThrough } }

    /// Bumped by every load and reload, which set `followedThrough` directly.
    var loadGeneration: Int { state.withLock { $0.loadGeneration } }

    /// The follower confirmed `change` (see MemoryFollowCursor): the cursor moves and removals
    /// at or below it are forgotten.
    func confirmFollowed(through change: UInt64) {
        let indexes = state.withLock { state in
            state.followedThrough = max(state.followedThrough, change)
            return Array(state.indexes.values)
        }
        for memoryIndex in indexes { memoryIndex.forgetRemovals(through: change) }
    }

    /// A change number at or below which every change is committed and visible to reads made
    /// from now on, or aborted: the last number handed out, once every transaction that held a
    /// vector write lock just after it was read has ended (a number at or below it was taken by
    /// a transaction that held such a lock from before taking it; see MemoryFollowCursor). Nil
    /// when they did not end within `fenceWaitMax`.
    private func settledFence() async throws -> UInt64? {
        let last = try await source.lastChange()
        let writers = try await source.vectorWriters()
        let deadline = ContinuousClock.now + Self.fenceWaitMax
        while !writers.isEmpty {
            if try await source.vectorWriters().isDisjoint(with: writers) { break }
            guard ContinuousClock.now < deadline else {
                logger.warning("transactions writing memory vectors did not end; the follower reads every change above the tombstone horizon once",
                               ["writers": writers.count])
                return nil
            }
            try await Task.sleep(for: Self.fencePollInterval)
        }
        return last
    }

    // MARK: Loading

    /// Loads every collection's index: from its snapshot when one is valid for this database,
    /// then caught up with the vectors and tombstones changed since the snapshot's watermark;
    /// otherwise rebuilt from every vector row. The follow cursor starts at a settled fence
    /// taken before the reads, so a write in flight meanwhile is read by the follower.
    func load(instance: String) async throws {
        let started = ContinuousClock.now
        try await source.claimIndexOwnership(instance: instance)
        let (loaded, rebuilt, fence) = try await loadAll()
        state.withLock { state in
            // Loading happens before any request is served, so nothing else has added entries.
            for (name, memoryIndex) in loaded { state.indexes[name] = memoryIndex }
            state.snapshotRequested = rebuilt
            state.lastSnapshot = .now
            state.followedThrough = fence
            state.loadGeneration += 1
        }
        logger.notice("memory index ready", ["collections": loaded.count, "vectors": totalVectorCount,
                                             "followed_through": fence, "seconds": (ContinuousClock.now - started).seconds])
    }

    /// Replaces every index by a fresh load: the follower fell behind the tombstone horizon,
    /// so deletes it has not read may be gone from PostgreSQL. Writes applied to the old
    /// indexes meanwhile are either visible to the new load or above its fence.
    func reload() async throws {
        let (loaded, _, fence) = try await loadAll()
        state.withLock { state in
            state.indexes = loaded
            state.snapshotRequested = true
            state.followedThrough = fence
            state.loadGeneration += 1
        }
        logger.notice("memory index reloaded", ["collections": loaded.count, "followed_through": fence])
    }

    private func loadAll() async throws -> (indexes: [String: MemoryIndex], rebuilt: Bool, fence: UInt64) {
        let settled = try await settledFence()
        let database = try await source.indexState()
        // Without a settled fence, the tombstone horizon: every change at or below it was final
        // before the owner pruned up to it (its follow cursor had passed it), so the reads below
        // include them, and the follower reads the rest once. Not 0: a cursor below the horizon
        // would make the follower reload again at once, for as long as the stuck writer lasts.
        let fence = settled ?? database.tombstoneHorizon
        let collections = try await source.collections()
        var loaded: [String: MemoryIndex] = [:]
        var rebuilt = false
        for collection in collections {
            let (memoryIndex, fromSnapshot) = try await loadIndex(collection, database: database)
            loaded[collection.name] = memoryIndex
            rebuilt = rebuilt || (!fromSnapshot && memoryIndex.index.count > 0)
        }
        return (loaded, rebuilt, fence)
    }

    private func loadIndex(_ collection: MemoryCollection, database: (databaseID: String, tombstoneHorizon: UInt64, lastChange: UInt64))
        async throws -> (MemoryIndex, Bool)
    {
        let path = snapshotPath(collection: collection.name, databaseID: database.databaseID)
        var memoryIndex: MemoryIndex?
        var watermark: UInt64 = 0
        if let path, FileManager.default.fileExists(atPath: path) {
            do {
                let started = ContinuousClock.now
                let snapshot = try VectorIndex.load(snapshotAtPath: path)
                if snapshot.dimension != collection.dimension || snapshot.metric != collection.metric.distanceMetric {
                    logger.warning("snapshot does not match its collection; rebuilding", ["collection": collection.name])
                } else if snapshot.watermark < database.tombstoneHorizon {
                    logger.warning("snapshot older than the pruned tombstones; rebuilding",
                                   ["collection": collection.name, "watermark": snapshot.watermark,
                                    "horizon": database.tombstoneHorizon])
                } else {
                    memoryIndex = MemoryIndex(collection: collection, index: snapshot)
                    watermark = snapshot.watermark
                    logger.notice("loaded index snapshot", ["collection": collection.name, "vectors": snapshot.count,
                                                            "watermark": watermark,
                                                            "seconds": (ContinuousClock.now - started).seconds])
                }
            } catch {
                logger.warning("index snapshot unusable; rebuilding", ["collection": collection.name, "error": error])
            }
        }
        let fromSnapshot = memoryIndex != nil
        let target = try memoryIndex ?? MemoryIndex.empty(collection, parameters: configuration.indexParameters)
        if !fromSnapshot { logger.notice("rebuilding index from PostgreSQL", ["collection": collection.name]) }
        try await catchUp(target, after: watermark)
        return (target, fromSnapshot)
    }

    /// Inserts every vector changed after `watermark`, then removes every vector deleted after
    /// it. Vector rows are immutable and their ids never reused, so this order is correct.
    private func catchUp(_ memoryIndex: MemoryIndex, after watermark: UInt64) async throws {
        let name = memoryIndex.collection.name
        let started = ContinuousClock.now
        var cursor = watermark
        var inserted = 0
        var nextReport = Self.loadProgressInterval
        while true {
            let page = try await source.vectors(in: name, after: cursor, limit: Self.loadPageRows)
            guard let last = page.last else { break }
            let vectors = page.map(\.vector)
            do {
                _ = try await workers.run {
                    try memoryIndex.apply(inserted: vectors, removed: [], tracksRemovals: false,
                                          parallelism: Self.loadParallelism)
                }
            } catch let error as MemoryIndexInsertError {
                // Puts validate vectors, so this means a row written by other means; skip it.
                logger.error("vector skipped while loading", ["collection": name, "error": error])
            }
            inserted += page.count
            cursor = last.change
            if inserted >= nextReport {
                nextReport += Self.loadProgressInterval
                let seconds = (ContinuousClock.now - started).seconds
                logger.notice("loading index", ["collection": name, "vectors": inserted,
                                                "per_second": Int(Double(inserted) / max(seconds, 0.001))])
            }
            if page.count < Self.loadPageRows { break }
        }
        var removed = 0
        cursor = watermark
        while true {
            let page = try await source.tombstones(in: name, after: cursor, limit: Self.loadPageRows * 10)
            guard let last = page.last else { break }
            let removals = page.map { (id: $0.id, change: $0.change) }
            _ = try await workers.run { try memoryIndex.apply(inserted: [], removed: removals, tracksRemovals: false) }
            removed += page.count
            cursor = last.change
            if page.count < Self.loadPageRows * 10 { break }
        }
        logger.info("index caught up", ["collection": name, "after": watermark, "inserted": inserted,
                                        "tombstones": removed, "seconds": (ContinuousClock.now - started).seconds])
    }

    // MARK: Snapshots

    /// Whether a snapshot is due: requested after a rebuild, or enough changes, or changes and
    /// enough time since the last one.
    var isSnapshotDue: Bool {
        state.withLock { state in
            if state.snapshotRequested { return true }
            guard state.changesSinceSnapshot > 0 else { return false }
            return state.changesSinceSnapshot >= configuration.snapshotChangesMax
                || ContinuousClock.now - state.lastSnapshot >= configuration.snapshotInterval
        }
    }

    /// Whether the indexes differ from the last snapshot written (or none was written since a
    /// rebuild).
    var hasChangesSinceSnapshot: Bool {
        state.withLock { $0.snapshotRequested || $0.changesSinceSnapshot > 0 }
    }

    /// Writes every index's snapshot, stamped with the follow cursor: every change at or below
    /// it, by any server, is in the index (the index may hold later ones too, which a load
    /// replays idempotently). So any server may write, even into a shared directory (files are
    /// replaced atomically, and every file is valid). Only the index owner (the server that
    /// started last) prunes tombstones, below its own cursor.
    func writeSnapshots(instance: String) async throws {
        let database = try await source.indexState()
        let (watermark, indexes) = state.withLock { state in
            state.changesSinceSnapshot = 0
            state.snapshotRequested = false
            state.lastSnapshot = .now
            return (state.followedThrough, Array(state.indexes.values))
        }
        let isOwner = try await source.isIndexOwner(instance: instance)
        guard configuration.snapshotDirectory != nil else {
            // Without snapshots every start rebuilds, which needs no tombstones at all; the
            // followers of other servers still read them, hence the cursor and the retention.
            if isOwner { try await source.pruneTombstones(upTo: watermark, olderThan: configuration.tombstoneRetention) }
            return
        }
        let started = ContinuousClock.now
        var files: [(String, Data)] = []
        for memoryIndex in indexes {
            guard let path = snapshotPath(collection: memoryIndex.collection.name, databaseID: database.databaseID) else { continue }
            // One snapshot is written at a time (the background task, or the stop after it ended).
            memoryIndex.index.watermark = watermark
            files.append((path, try await workers.run { memoryIndex.index.snapshotData() }))
        }
        if let directory = snapshotDirectory(databaseID: database.databaseID) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var bytes = 0
        for (path, data) in files {
            try await workers.run { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
            bytes += data.count
        }
        if isOwner { try await source.pruneTombstones(upTo: watermark, olderThan: configuration.tombstoneRetention) }
        logger.info("wrote index snapshots", ["collections": files.count, "bytes": bytes, "watermark": watermark,
                                              "seconds": (ContinuousClock.now - started).seconds])
    }

    private func snapshotDirectory(databaseID: String) -> String? {
        configuration.snapshotDirectory.map { URL(fileURLWithPath: $0).appendingPathComponent(databaseID).path }
    }

    /// `<directory>/<database id>/<hex of the collection name>.agvi`: hex keeps any name a
    /// valid file name.
    func snapshotPath(collection: String, databaseID: String) -> String? {
        guard let directory = snapshotDirectory(databaseID: databaseID) else { return nil }
        let hex = collection.utf8.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        return URL(fileURLWithPath: directory).appendingPathComponent("collection-\(hex).agvi").path
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
