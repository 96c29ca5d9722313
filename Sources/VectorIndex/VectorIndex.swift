// The public, thread-safe approximate nearest-neighbour index (HNSW) over caller-given ids.

import Foundation
import VectorKernels

/// An in-memory HNSW index of fixed-dimension float vectors keyed by caller-given `UInt64` ids.
///
/// Thread safety: any number of searches run in parallel; inserts, removals and watermark changes
/// run alone (a writer-preferring reader-writer lock around the graph).
///
/// Filtered search: the filter is applied inside the graph search. Nodes that fail it are still
/// traversed (they connect to nodes that pass) but never returned, and the search only stops once
/// it holds `searchWidth` matches. A filter that matches few vectors would make that walk cover
/// most of the graph, so the index first estimates the match fraction on a fixed sample of
/// `filterSampleSize` live vectors and, below `exactSearchMatchFractionMax`, scans exactly
/// instead (cheap then: distances only for matches). If a graph search still returns fewer than
/// `count` results, the index re-runs the query exactly, so a filter never silently loses results.
public final class VectorIndex: @unchecked Sendable {
    // @unchecked: `graph` is only touched inside `lock` (read lock for reads, write lock for
    // writes); `writeScratch` only under the write lock; `scratchPool` is itself Sendable.

    /// Live vectors sampled to estimate how selective a filter is. 256 samples put a 10% fraction
    /// within about ±4% (two standard errors), enough to pick a strategy.
    public static let filterSampleSize = 256
    /// Below this estimated fraction of matches a filtered query scans exactly: graph search
    /// would expand about `searchWidth / fraction` nodes, each costing 2·M distances, while the
    /// scan costs one filter call per vector plus one distance per match.
    public static let exactSearchMatchFractionMax = 0.1

    private let graph: HNSWGraph
    private let lock = ReadWriteLock()
    private let scratchPool = ScratchPool()
    private let writeScratch: SearchScratch

    public let dimension: Int
    public let metric: DistanceMetric
    public let parameters: HNSWParameters

    /// Creates an empty index.
    /// - Parameter instructionSet: the distance kernels to use; the host CPU's best by default
    ///   (benchmarks pass `.portable` to compare).
    /// - Throws: `.invalidParameter` if `dimension` is not in `1...VectorIndexLimits.dimensionMax`,
    ///   a parameter is out of range, or the CPU cannot run `instructionSet`.
    public convenience init(
        dimension: Int, metric: DistanceMetric, parameters: HNSWParameters = HNSWParameters(),
        instructionSet: KernelInstructionSet = .host
    ) throws(VectorIndexError) {
        guard (1...VectorIndexLimits.dimensionMax).contains(dimension) else {
            throw .invalidParameter("dimension \(dimension) not in 1...\(VectorIndexLimits.dimensionMax)")
        }
        try parameters.validate()
        try Self.checkSupported(instructionSet)
        self.init(graph: HNSWGraph(dimension: dimension, metric: metric, parameters: parameters,
                                   instructionSet: instructionSet))
    }

    private static func checkSupported(_ instructionSet: KernelInstructionSet) throws(VectorIndexError) {
        guard instructionSet.isSupportedByHost else {
            throw .invalidParameter("this CPU cannot run the \(instructionSet.rawValue) kernels")
        }
    }

    /// The distance kernels this index runs.
    public var instructionSet: KernelInstructionSet { graph.kernel.instructionSet }

    init(graph: HNSWGraph) {
        self.graph = graph
        dimension = graph.dimension
        metric = graph.metric
        parameters = graph.parameters
        writeScratch = SearchScratch(slotCount: graph.slotCount)
    }

    /// Number of live (not removed) vectors.
    public var count: Int { lock.withReadLock { graph.liveCount } }

    /// The caller's sequence number of the last change this index reflects; saved in snapshots so
    /// a loaded index knows where to resume catching up. The index never changes it itself.
    public var watermark: UInt64 {
        get { lock.withReadLock { graph.watermark } }
        set { lock.withWriteLock { graph.watermark = newValue } }
    }

    public func contains(id: UInt64) -> Bool {
        lock.withReadLock { graph.slotByID[id] != nil }
    }

    /// The stored vector for `id` (normalized for `.cosine`), or nil if absent.
    public func vector(for id: UInt64) -> [Float]? {
        lock.withReadLock {
            guard let slot = graph.slotByID[id] else { return nil }
            return Array(UnsafeBufferPointer(start: graph.vector(slot), count: dimension))
        }
    }

    /// Inserts `vector` under `id`, or replaces the vector already stored for `id` (the node is
    /// re-linked in place, no rebuild). Cost: about efConstruction × M distance computations.
    /// - Throws: `.dimensionMismatch`, `.nonFiniteComponent`, `.zeroVector` (cosine),
    ///   `.capacityExceeded`.
    public func insert(_ vector: [Float], id: UInt64) throws(VectorIndexError) {
        let stored = try storedForm(of: vector)
        try lock.withWriteLock { () throws(VectorIndexError) in
            try stored.withUnsafeBufferPointer { (buffer) throws(VectorIndexError) in
                try graph.upsert(id: id, vector: buffer.baseAddress!, scratch: writeScratch)
            }
        }
    }

    /// Inserts or replaces many vectors in one write, linking new ids on up to `parallelism`
    /// threads at once (as hnswlib's parallel build: each link list is read and changed under
    /// a lock while threads link). Searches wait for the whole batch, so callers keep batches
    /// to a few thousand vectors. Ids that replace a vector, reuse a removed one's slot or
    /// repeat within the batch are applied one by one after the new ones, in batch order, so the
    /// last vector given for an id wins.
    /// - Returns: the refused items and why (see `insert(_:id:)`); every other item is stored.
    public func insert(contentsOf items: [(id: UInt64, vector: [Float])], parallelism: Int = 1)
        -> [(id: UInt64, error: VectorIndexError)]
    {
        var refused: [(id: UInt64, error: VectorIndexError)] = []
        var stored: [(id: UInt64, vector: [Float])] = []
        stored.reserveCapacity(items.count)
        for item in items {
            do {
                stored.append((item.id, try storedForm(of: item.vector)))
            } catch {
                refused.append((item.id, error))
            }
        }
        let threads = min(max(parallelism, 1), VectorIndexLimits.insertParallelismMax)
        lock.withWriteLock {
            var appended: [(id: UInt64, vector: [Float])] = []
            var oneByOne: [(id: UInt64, vector: [Float])] = []
            var seen = Set<UInt64>()
            var freeSlotsLeft = graph.freeSlots.count
            var slotsLeft = VectorIndexLimits.slotCountMax - graph.slotCount
            for item in stored {
                let isNew = graph.slotByID[item.id] == nil && seen.insert(item.id).inserted
                if isNew && freeSlotsLeft == 0 && slotsLeft > 0 {
                    appended.append(item)
                    slotsLeft -= 1
                } else {
                    if isNew && freeSlotsLeft > 0 { freeSlotsLeft -= 1 }
                    oneByOne.append(item)
                }
            }
            let scratches = (0..<threads).map { _ in scratchPool.borrow(slotCount: graph.slotCount + appended.count) }
            graph.appendAndLink(appended, scratches: scratches)
            for scratch in scratches { scratchPool.giveBack(scratch) }
            for item in oneByOne {
                do throws(VectorIndexError) {
                    try item.vector.withUnsafeBufferPointer { (buffer) throws(VectorIndexError) in
                        try graph.upsert(id: item.id, vector: buffer.baseAddress!, scratch: writeScratch)
                    }
                } catch {
                    refused.append((item.id, error))
                }
            }
        }
        return refused
    }

    /// Removes `id` (a tombstone: excluded from results at once, its slot reused by a later
    /// insert). Returns whether the id was present.
    @discardableResult
    public func remove(id: UInt64) -> Bool {
        lock.withWriteLock { graph.remove(id: id) }
    }

    /// Approximate `count` nearest vectors to `query`, best (smallest distance) first.
    /// - Parameters:
    ///   - searchWidth: ef; larger is slower and more accurate. Defaults to `parameters.searchWidth`;
    ///     raised to `count` when smaller.
    ///   - filter: only ids for which it returns true are returned. Called synchronously on the
    ///     calling thread while a read lock is held, so it must not call back into this index's
    ///     writing methods. See the type's comment for the strategy.
    /// - Throws: `.dimensionMismatch`, `.nonFiniteComponent`, `.zeroVector` (cosine),
    ///   `.invalidParameter` for a count or width above `VectorIndexLimits.searchWidthMax`.
    public func nearest(
        to query: [Float], count: Int, searchWidth: Int? = nil, filter: ((UInt64) -> Bool)? = nil
    ) throws(VectorIndexError) -> [SearchResult] {
        let width = searchWidth ?? parameters.searchWidth
        try validate(count: count, width: width)
        let stored = try storedForm(of: query)
        guard count > 0 else { return [] }
        return lock.withReadLock {
            stored.withUnsafeBufferPointer { buffer in
                search(query: buffer.baseAddress!, count: count, width: width, filter: filter)
            }
        }
    }

    /// Exact `count` nearest live vectors by scanning all of them; for checking recall and for
    /// very selective filters. O(vectors × dimension).
    public func exactNearest(to query: [Float], count: Int, filter: ((UInt64) -> Bool)? = nil)
        throws(VectorIndexError) -> [SearchResult]
    {
        try validate(count: count, width: 1)
        let stored = try storedForm(of: query)
        return lock.withReadLock {
            stored.withUnsafeBufferPointer { buffer in
                results(graph.exactSearch(query: buffer.baseAddress!, count: count, filter: filter))
            }
        }
    }

    // MARK: Internals (callers hold the lock where noted)

    /// Runs under the read lock.
    private func search(query: UnsafePointer<Float>, count: Int, width: Int, filter: ((UInt64) -> Bool)?)
        -> [SearchResult]
    {
        let live = graph.liveCount
        guard live > 0 else { return [] }
        if let filter, estimatedMatchFraction(filter) < Self.exactSearchMatchFractionMax {
            return results(graph.exactSearch(query: query, count: count, filter: filter))
        }
        let admission = Admission(skipsDeleted: graph.deletedCount > 0, filter: filter)
        let scratch = scratchPool.borrow(slotCount: graph.slotCount)
        let found = graph.search(query: query, count: count, width: width, admission: admission, scratch: scratch)
        scratchPool.giveBack(scratch)
        if found.count < min(count, live) {
            // The walk ended before finding enough admitted nodes (very selective filter, many
            // tombstones, or an unreachable region): the exact scan is the only way to be sure.
            return results(graph.exactSearch(query: query, count: count, filter: filter))
        }
        return results(found)
    }

    /// Fraction of a fixed, evenly spread sample of live vectors that pass `filter`.
    private func estimatedMatchFraction(_ filter: (UInt64) -> Bool) -> Double {
        let slots = graph.slotCount
        let step = max(1, slots / Self.filterSampleSize)
        var sampled = 0
        var matched = 0
        var slot = 0
        while slot < slots && sampled < Self.filterSampleSize {
            if !graph.isDeleted(UInt32(slot)) {
                sampled += 1
                if filter(graph.externalIDs[slot]) { matched += 1 }
            }
            slot += step
        }
        return sampled == 0 ? 0 : Double(matched) / Double(sampled)
    }

    private func results(_ candidates: [Candidate]) -> [SearchResult] {
        candidates.map { SearchResult(id: graph.externalIDs[Int($0.slot)], distance: $0.key) }
    }

    private func validate(count: Int, width: Int) throws(VectorIndexError) {
        guard (0...VectorIndexLimits.searchWidthMax).contains(count) else {
            throw .invalidParameter("count \(count) not in 0...\(VectorIndexLimits.searchWidthMax)")
        }
        guard (1...VectorIndexLimits.searchWidthMax).contains(width) else {
            throw .invalidParameter("searchWidth \(width) not in 1...\(VectorIndexLimits.searchWidthMax)")
        }
    }

    /// Checks a caller's vector and returns it as stored: normalized for cosine, else unchanged.
    private func storedForm(of vector: [Float]) throws(VectorIndexError) -> [Float] {
        guard vector.count == dimension else {
            throw .dimensionMismatch(expected: dimension, actual: vector.count)
        }
        if let bad = vector.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteComponent(index: bad)
        }
        guard metric == .cosine else { return vector }
        let norm = vector.withUnsafeBufferPointer { buffer in
            dotProduct(buffer.baseAddress!, buffer.baseAddress!, count: dimension).squareRoot()
        }
        guard norm > 0, norm.isFinite else { throw .zeroVector }
        return vector.map { $0 / norm }
    }

    // MARK: Snapshots

    /// The whole index as snapshot bytes (see `IndexSnapshot` for the layout).
    public func snapshotData() -> Data {
        lock.withReadLock { IndexSnapshot.encode(graph) }
    }

    /// Writes `snapshotData()` to `path` atomically (a temporary file renamed into place).
    /// - Throws: `.fileError` when the file cannot be written.
    public func writeSnapshot(toPath path: String) throws(VectorIndexError) {
        let data = snapshotData()
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .fileError("writing \(path): \(error)")
        }
    }

    /// An index restored from snapshot bytes; every length and link is validated.
    /// - Throws: `.corruptSnapshot` naming the failed check.
    public static func load(snapshot: Data, instructionSet: KernelInstructionSet = .host)
        throws(VectorIndexError) -> VectorIndex
    {
        try checkSupported(instructionSet)
        return VectorIndex(graph: try IndexSnapshot.decode(snapshot, instructionSet: instructionSet))
    }

    /// An index restored from a snapshot file.
    /// - Throws: `.fileError` when the file cannot be read, `.corruptSnapshot` when invalid.
    public static func load(snapshotAtPath path: String, instructionSet: KernelInstructionSet = .host)
        throws(VectorIndexError) -> VectorIndex
    {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw .fileError("reading \(path): \(error)")
        }
        return try load(snapshot: data, instructionSet: instructionSet)
    }
}
