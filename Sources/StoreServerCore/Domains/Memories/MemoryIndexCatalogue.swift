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
    }

    /// Rows fetched per round trip while loading: large enough to amortize the query, small
    /// enough (2,000 × 1.5 KiB for 384 dimensions) to keep the result in a few MiB.
    static let loadPageRows = 2_000
    /// Progress is logged every this many vectors while loading.
    static let loadProgressInterval = 20_000

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
        // Never throws: the closure reports its own failures.
        _ = try? await workers.run { self.applyNow(inserted: inserted, removed: removed) }
    }

    private func applyNow(inserted: [MemoryStoredVector], removed: [MemoryRemovedVector]) {
        let names = Set(inserted.map(\.collection)).union(removed.map(\.collection))
        for name in names {
            guard let memoryIndex = index(named: name) else { continue }
            do {
                try memoryIndex.apply(inserted: inserted.filter { $0.collection == name },
                                      removed: removed.filter { $0.collection == name }.map(\.id))
            } catch {
                // The row is committed; the index lacks it until the next load. Searches stay
                // correct (they never return what the index lacks, but this is a bug to see).
                logger.error("index update failed after commit", ["collection": name, "error": error])
            }
        }
        state.withLock { $0.changesSinceSnapshot += inserted.count + removed.count }
    }

    // MARK: Loading

    /// Loads every collection's index: from its snapshot when one is valid for this database,
    /// then caught up with the vectors and tombstones changed since the snapshot's watermark;
    /// otherwise rebuilt from every vector row.
    func load(instance: String) async throws {
        let started = ContinuousClock.now
        let database = try await source.indexState()
        try await source.claimIndexOwnership(instance: instance)
        let collections = try await source.collections()
        var loaded: [String: MemoryIndex] = [:]
        var rebuilt = false
        for collection in collections {
            let (memoryIndex, fromSnapshot) = try await loadIndex(collection, database: database)
            loaded[collection.name] = memoryIndex
            rebuilt = rebuilt || (!fromSnapshot && memoryIndex.index.count > 0)
        }
        state.withLock { state in
            // Loading happens before any request is served, so nothing else has added entries.
            for (name, memoryIndex) in loaded { state.indexes[name] = memoryIndex }
            state.snapshotRequested = rebuilt
            state.lastSnapshot = .now
        }
        logger.notice("memory index ready", ["collections": collections.count, "vectors": totalVectorCount,
                                             "seconds": (ContinuousClock.now - started).seconds])
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
                try await workers.run { try memoryIndex.apply(inserted: vectors, removed: [], tracksLateRemovals: false) }
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
            let ids = page.map(\.id)
            try await workers.run { try memoryIndex.apply(inserted: [], removed: ids, tracksLateRemovals: false) }
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

    /// Writes every index's snapshot, stamped with the change sequence's value taken while no
    /// write is in flight (so every change up to it is in the index). Only the index owner
    /// (the server that loaded last) writes, so a stale server cannot overwrite a newer file.
    func writeSnapshots(gate: MemoryWriteGate, instance: String) async throws {
        guard configuration.snapshotDirectory != nil else {
            // Without snapshots every start rebuilds, which needs no tombstones at all.
            state.withLock { $0.snapshotRequested = false; $0.changesSinceSnapshot = 0; $0.lastSnapshot = .now }
            let database = try await source.indexState()
            try await source.pruneTombstones(upTo: database.lastChange, olderThan: configuration.tombstoneRetention)
            return
        }
        guard try await source.isIndexOwner(instance: instance) else {
            state.withLock { $0.snapshotRequested = false; $0.changesSinceSnapshot = 0; $0.lastSnapshot = .now }
            return
        }
        let started = ContinuousClock.now
        let taken: (String, UInt64, [(String, Data)]) = try await gate.exclusively {
            let database = try await source.indexState()
            let indexes = state.withLock { state in
                state.changesSinceSnapshot = 0
                state.snapshotRequested = false
                state.lastSnapshot = .now
                return Array(state.indexes.values)
            }
            var files: [(String, Data)] = []
            for memoryIndex in indexes {
                memoryIndex.index.watermark = database.lastChange
                guard let path = snapshotPath(collection: memoryIndex.collection.name, databaseID: database.databaseID) else { continue }
                files.append((path, try await workers.run { memoryIndex.index.snapshotData() }))
            }
            return (database.databaseID, database.lastChange, files)
        }
        let (databaseID, watermark, files) = taken
        if let directory = snapshotDirectory(databaseID: databaseID) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var bytes = 0
        for (path, data) in files {
            try await workers.run { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
            bytes += data.count
        }
        try await source.pruneTombstones(upTo: watermark, olderThan: configuration.tombstoneRetention)
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
