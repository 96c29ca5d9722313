// The HNSW graph and its vector storage: not thread-safe; `VectorIndex` guards it with a lock.

import CacheHints
import Dispatch
import Foundation
import Synchronization

/// Which nodes a search may return. Every node is still traversed: a node that is filtered out
/// or tombstoned can lead to nodes that are not, so skipping it would lose results.
struct Admission {
    /// A slot never returned (the node being linked during an update).
    var excluded: UInt32 = HNSWGraph.noSlot
    /// Leave out tombstoned slots (searches); construction links through them.
    var skipsDeleted = false
    var filter: ((UInt64) -> Bool)?

    var admitsAll: Bool { excluded == HNSWGraph.noSlot && !skipsDeleted && filter == nil }
}

/// Storage is flat and manually managed for cache-friendliness and to keep ARC and bounds checks
/// out of the search loop:
/// - `vectors`: `capacity × dimension` floats, rows 64-byte aligned (cosine rows normalized).
/// - `level0Links`: per slot `[count, neighbour…]` with room for `2·M` neighbours.
/// - `upperLinks`: a pool; a node of level L owns L blocks of `[count, neighbour…]` (room for M)
///   at `upperOffsets[slot]`. A slot keeps its level for life, also when it is reused after a
///   delete, so its block never moves.
final class HNSWGraph {
    static let noSlot = UInt32.max
    /// Row alignment in bytes: one cache line, and the widest SIMD load.
    static let rowAlignment = 64

    let dimension: Int
    let metric: DistanceMetric
    let parameters: HNSWParameters
    let level0Stride: Int
    let upperStride: Int
    let levelMultiplier: Double
    let kernel: DistanceKernel

    var slotCount = 0
    var capacity = 0
    var vectors: UnsafeMutablePointer<Float>
    var level0Links: UnsafeMutablePointer<UInt32>
    var externalIDs: UnsafeMutablePointer<UInt64>
    var levels: UnsafeMutablePointer<UInt8>
    var deletedFlags: UnsafeMutablePointer<UInt8>
    var upperOffsets: UnsafeMutablePointer<Int>
    var upperLinks: UnsafeMutablePointer<UInt32>
    var upperLinksCount = 0
    var upperLinksCapacity = 0

    var slotByID: [UInt64: UInt32] = [:]
    /// Tombstoned slots, reused (most recent first) by the next inserts of new ids.
    var freeSlots: [UInt32] = []
    var entryPoint = HNSWGraph.noSlot
    var maxLevel = 0
    var random: SeededGenerator
    /// Caller-owned sequence number saved in snapshots (the last change the index reflects).
    var watermark: UInt64 = 0

    /// Set only while `appendAndLink` links new nodes on several threads; nil otherwise, so
    /// searches and single inserts read links without any locking.
    private var linkLocks: LinkLocks?
    /// Guards `entryPoint` and `maxLevel` while several threads link.
    private let entryLock = Mutex<Void>(())
    /// Rows the exact scan asks for ahead of the one it computes. The hardware prefetcher
    /// alone stops at every 4 KiB page, and a 384-dimension row is 1.5 KiB: measured on the
    /// 60 k benchmark, 146 queries/s without, 260-310 with 2, 4 or 8 rows ahead.
    static let exactScanPrefetchRows = 4
    /// Slots a filtered exact scan checks before reading the matching rows: enough to keep the
    /// prefetch ahead, small enough for the stack (1 KiB).
    static let exactScanChunkRows = 256
    /// A batch with fewer new nodes than this is linked on the calling thread: waking worker
    /// threads costs about as much as a few inserts, and a few inserts gain nothing from them.
    static let parallelLinkingMin = 16

    var liveCount: Int { slotByID.count }
    var deletedCount: Int { freeSlots.count }

    init(dimension: Int, metric: DistanceMetric, parameters: HNSWParameters, instructionSet: KernelInstructionSet) {
        self.dimension = dimension
        self.metric = metric
        kernel = DistanceKernel(metric: metric, instructionSet: instructionSet)
        self.parameters = parameters
        level0Stride = 1 + 2 * parameters.maxNeighbors
        upperStride = 1 + parameters.maxNeighbors
        levelMultiplier = 1 / log(Double(parameters.maxNeighbors))
        random = SeededGenerator(seed: parameters.seed)
        vectors = Self.allocateRows(capacity: 0, dimension: dimension)
        level0Links = .allocate(capacity: 0)
        externalIDs = .allocate(capacity: 0)
        levels = .allocate(capacity: 0)
        deletedFlags = .allocate(capacity: 0)
        upperOffsets = .allocate(capacity: 0)
        upperLinks = .allocate(capacity: 0)
    }

    deinit {
        vectors.deallocate()
        level0Links.deallocate()
        externalIDs.deallocate()
        levels.deallocate()
        deletedFlags.deallocate()
        upperOffsets.deallocate()
        upperLinks.deallocate()
    }

    private static func allocateRows(capacity: Int, dimension: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(capacity * dimension * MemoryLayout<Float>.stride, 1), alignment: rowAlignment)
        return raw.bindMemory(to: Float.self, capacity: capacity * dimension)
    }

    // MARK: Access

    @inline(__always)
    func vector(_ slot: UInt32) -> UnsafeMutablePointer<Float> {
        vectors + Int(slot) &* dimension
    }

    /// `[count, neighbour…]` of `slot` at `level`.
    @inline(__always)
    func links(_ slot: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return level0Links + Int(slot) &* level0Stride }
        return upperLinks + (upperOffsets[Int(slot)] &+ (level &- 1) &* upperStride)
    }

    @inline(__always)
    func maxLinks(level: Int) -> Int { level == 0 ? level0Stride - 1 : upperStride - 1 }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ slot: UInt32) -> Float {
        kernel.distance(query, vector(slot), count: dimension)
    }

    @inline(__always)
    func isDeleted(_ slot: UInt32) -> Bool { deletedFlags[Int(slot)] != 0 }

    // MARK: Growth

    func reserve(slots needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity * 2, 64)
        let newVectors = Self.allocateRows(capacity: newCapacity, dimension: dimension)
        newVectors.update(from: vectors, count: slotCount * dimension)
        vectors.deallocate()
        vectors = newVectors
        level0Links = Self.grown(level0Links, count: slotCount * level0Stride, to: newCapacity * level0Stride)
        externalIDs = Self.grown(externalIDs, count: slotCount, to: newCapacity)
        levels = Self.grown(levels, count: slotCount, to: newCapacity)
        deletedFlags = Self.grown(deletedFlags, count: slotCount, to: newCapacity)
        upperOffsets = Self.grown(upperOffsets, count: slotCount, to: newCapacity)
        capacity = newCapacity
    }

    private static func grown<T>(_ old: UnsafeMutablePointer<T>, count: Int, to newCapacity: Int)
        -> UnsafeMutablePointer<T>
    {
        let new = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
        new.moveInitialize(from: old, count: count)
        old.deallocate()
        return new
    }

    func reserveUpperLinks(_ needed: Int) {
        guard needed > upperLinksCapacity else { return }
        let newCapacity = max(needed, upperLinksCapacity * 2, 256)
        upperLinks = Self.grown(upperLinks, count: upperLinksCount, to: newCapacity)
        upperLinksCapacity = newCapacity
    }

    /// Appends an empty slot at `level` holding `id`; the caller writes the vector and links it.
    func appendSlot(id: UInt64, level: Int) -> UInt32 {
        reserve(slots: slotCount + 1)
        let slot = UInt32(slotCount)
        slotCount += 1
        (level0Links + Int(slot) * level0Stride).initialize(repeating: 0, count: level0Stride)
        externalIDs[Int(slot)] = id
        levels[Int(slot)] = UInt8(level)
        deletedFlags[Int(slot)] = 0
        upperOffsets[Int(slot)] = upperLinksCount
        if level > 0 {
            reserveUpperLinks(upperLinksCount + level * upperStride)
            (upperLinks + upperLinksCount).initialize(repeating: 0, count: level * upperStride)
            upperLinksCount += level * upperStride
        }
        slotByID[id] = slot
        return slot
    }

    func randomLevel() -> Int {
        // Uniform in (0, 1]: never log(0).
        let uniform = Double(random.next() >> 11 &+ 1) / Double(1 << 53)
        return min(Int(-log(uniform) * levelMultiplier), VectorIndexLimits.levelMax)
    }

    // MARK: Writes

    /// Inserts `id` or replaces its vector. `vector` is in stored form (normalized for cosine).
    func upsert(id: UInt64, vector: UnsafePointer<Float>, scratch: SearchScratch) throws(VectorIndexError) {
        if let slot = slotByID[id] {
            relink(slot: slot, newVector: vector, scratch: scratch)
        } else if let slot = freeSlots.popLast() {
            // Reusing a tombstone is an update of that node in place (as hnswlib's
            // replace_deleted): its old links are repaired, not left dangling.
            deletedFlags[Int(slot)] = 0
            externalIDs[Int(slot)] = id
            slotByID[id] = slot
            relink(slot: slot, newVector: vector, scratch: scratch)
        } else {
            guard slotCount < VectorIndexLimits.slotCountMax else { throw .capacityExceeded }
            let slot = appendSlot(id: id, level: randomLevel())
            self.vector(slot).update(from: vector, count: dimension)
            link(slot: slot, scratch: scratch)
        }
    }

    /// Appends new nodes and links them on `scratches.count` threads at once (one scratch per
    /// thread). Every id must be absent from the graph and appear once; vectors are in stored
    /// form. Free slots are not reused here (callers insert those ids with `upsert`).
    ///
    /// Levels are drawn in order before any linking, so they are the same as for one-by-one
    /// inserts; the links depend on the threads' interleaving, as in hnswlib.
    func appendAndLink(_ items: [(id: UInt64, vector: [Float])], scratches: [SearchScratch]) {
        guard !items.isEmpty else { return }
        reserve(slots: slotCount + items.count)
        let firstNew = slotCount
        for item in items {
            let slot = appendSlot(id: item.id, level: randomLevel())
            item.vector.withUnsafeBufferPointer { vector(slot).update(from: $0.baseAddress!, count: dimension) }
        }
        let end = slotCount
        var next = firstNew
        if entryPoint == Self.noSlot {
            link(slot: UInt32(next), scratch: scratches[0])  // becomes the entry point
            next += 1
        }
        guard scratches.count > 1 && end - next >= Self.parallelLinkingMin else {
            for slot in next..<end { link(slot: UInt32(slot), scratch: scratches[0]) }
            return
        }
        linkLocks = LinkLocks()
        defer { linkLocks = nil }
        let cursor = Atomic<Int>(next)
        // Unsafe by the compiler's rules, safe by construction: until concurrentPerform returns,
        // the threads change the graph only through linkConcurrently, under its locks.
        nonisolated(unsafe) let graph = self
        DispatchQueue.concurrentPerform(iterations: scratches.count) { worker in
            let scratch = scratches[worker]
            while true {
                let slot = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
                guard slot < end else { break }
                graph.linkConcurrently(slot: UInt32(slot), scratch: scratch)
            }
        }
    }

    /// Tombstones `id`: searches skip it, the graph still routes through it, and the slot is
    /// reused by a later insert. Returns whether the id was present.
    func remove(id: UInt64) -> Bool {
        guard let slot = slotByID.removeValue(forKey: id) else { return false }
        deletedFlags[Int(slot)] = 1
        freeSlots.append(slot)
        return true
    }

    /// Connects a new node (Malkov & Yashunin, algorithm 1).
    private func link(slot: UInt32, scratch: SearchScratch) {
        let level = Int(levels[Int(slot)])
        guard entryPoint != Self.noSlot else {
            entryPoint = slot
            maxLevel = level
            return
        }
        connect(slot: slot, level: level, entry: entryPoint, top: maxLevel, scratch: scratch)
        if level > maxLevel {
            maxLevel = level
            entryPoint = slot
        }
    }

    /// Links a new node while other threads link others (hnswlib's parallel insert): link lists
    /// are read and changed under `linkLocks`; a node that raises the top level is linked
    /// entirely under `entryLock`, so two nodes never both become the entry point.
    private func linkConcurrently(slot: UInt32, scratch: SearchScratch) {
        let level = Int(levels[Int(slot)])
        let start: (entry: UInt32, top: Int)? = entryLock.withLock { _ in
            guard level > maxLevel else { return (entryPoint, maxLevel) }
            connect(slot: slot, level: level, entry: entryPoint, top: maxLevel, scratch: scratch)
            entryPoint = slot
            maxLevel = level
            return nil
        }
        if let start { connect(slot: slot, level: level, entry: start.entry, top: start.top, scratch: scratch) }
    }

    /// Finds neighbours for `slot` on levels `0...min(level, top)`, starting from `entry` on
    /// level `top`, and links both ways.
    private func connect(slot: UInt32, level: Int, entry: UInt32, top: Int, scratch: SearchScratch) {
        let query = UnsafePointer(vector(slot))
        var current = entry
        if current == slot && slotCount > 1 {
            // The entry point itself is being re-linked; start from any other node on its top level.
            let topLinks = links(slot, level: top)
            if topLinks[0] > 0 { current = topLinks[1] }
        }
        var currentDistance = distance(query, current)
        if top > level {
            for upper in stride(from: top, to: level, by: -1) {
                greedyDescend(query: query, level: upper, current: &current, distance: &currentDistance,
                              scratch: scratch)
            }
        }
        let admission = Admission(excluded: slot)
        var chosen: [(layer: Int, neighbours: [Candidate])] = []
        for layer in stride(from: min(level, top), through: 0, by: -1) {
            var found = searchLayer(
                query: query, entry: current, level: layer, width: parameters.constructionSearchWidth,
                admission: admission, scratch: scratch)
            if found.isEmpty { continue }
            current = found[0].slot
            chosen.append((layer, selectNeighbours(&found, count: parameters.maxNeighbors)))
        }
        // Every own list is written before the first link back to this node. Other threads can
        // only reach the node through such a link, and one that reaches it on an upper level
        // may start its next level's search here: an own list written later would overwrite
        // the links that thread added. (One at a time, the order makes no difference.)
        for (layer, selected) in chosen {
            let own = links(slot, level: layer)
            withLinkLock(slot) {
                own[0] = UInt32(selected.count)
                for (index, neighbour) in selected.enumerated() { own[1 + index] = neighbour.slot }
            }
        }
        for (layer, selected) in chosen {
            for neighbour in selected {
                addLink(from: neighbour.slot, to: slot, distance: neighbour.key, level: layer)
            }
        }
    }

    /// Replaces the vector of a linked slot and repairs the graph around its old and new place.
    private func relink(slot: UInt32, newVector: UnsafePointer<Float>, scratch: SearchScratch) {
        let level = Int(levels[Int(slot)])
        var oldNeighbours: [[UInt32]] = []
        for layer in 0...level {
            let own = links(slot, level: layer)
            oldNeighbours.append(Array(UnsafeBufferPointer(start: own + 1, count: Int(own[0]))))
        }
        vector(slot).update(from: newVector, count: dimension)
        if slotCount == 1 || entryPoint == slot && oldNeighbours.allSatisfy(\.isEmpty) { return }
        connect(slot: slot, level: level, entry: entryPoint, top: maxLevel, scratch: scratch)
        // Nodes that linked to the old position re-choose among their links and the old
        // neighbourhood, so the region the vector left stays connected.
        for layer in 0...level {
            for neighbour in oldNeighbours[layer] {
                var pool = oldNeighbours[layer]
                let theirs = links(neighbour, level: layer)
                pool.append(contentsOf: UnsafeBufferPointer(start: theirs + 1, count: Int(theirs[0])))
                repairLinks(of: neighbour, candidates: pool, level: layer)
            }
        }
    }

    private func repairLinks(of node: UInt32, candidates: [UInt32], level: Int) {
        let base = UnsafePointer(vector(node))
        var seen = Set<UInt32>()
        var scored: [Candidate] = []
        for candidate in candidates where candidate != node && seen.insert(candidate).inserted {
            scored.append(Candidate(key: distance(base, candidate), slot: candidate))
        }
        scored.sort { $0.key < $1.key }
        let selected = selectNeighbours(&scored, count: maxLinks(level: level))
        let list = links(node, level: level)
        list[0] = UInt32(selected.count)
        for (index, neighbour) in selected.enumerated() { list[1 + index] = neighbour.slot }
    }

    /// `list` itself, or while threads link (`locks` set) a copy taken under its lock, so a
    /// search reads one consistent list.
    @inline(__always)
    private static func stable(_ list: UnsafeMutablePointer<UInt32>, of slot: UInt32, locks: LinkLocks?,
                               copy: UnsafeMutablePointer<UInt32>) -> UnsafeMutablePointer<UInt32> {
        guard let locks else { return list }
        locks.copyLinks(of: slot, from: list, into: copy)
        return copy
    }

    @inline(__always)
    private func withLinkLock<Result>(_ slot: UInt32, _ body: () -> Result) -> Result {
        guard let linkLocks else { return body() }
        return linkLocks.withLock(slot, body)
    }

    /// Adds `to` to the links of `from`, pruning with the heuristic when the list is full.
    private func addLink(from node: UInt32, to newNeighbour: UInt32, distance newDistance: Float, level: Int) {
        withLinkLock(node) { addLinkUnlocked(from: node, to: newNeighbour, distance: newDistance, level: level) }
    }

    private func addLinkUnlocked(from node: UInt32, to newNeighbour: UInt32, distance newDistance: Float, level: Int) {
        let list = links(node, level: level)
        let count = Int(list[0])
        for index in 0..<count where list[1 + index] == newNeighbour { return }
        let limit = maxLinks(level: level)
        if count < limit {
            list[1 + count] = newNeighbour
            list[0] = UInt32(count + 1)
            return
        }
        let base = UnsafePointer(vector(node))
        var scored = [Candidate(key: newDistance, slot: newNeighbour)]
        scored.reserveCapacity(count + 1)
        for index in 0..<count {
            scored.append(Candidate(key: distance(base, list[1 + index]), slot: list[1 + index]))
        }
        scored.sort { $0.key < $1.key }
        let selected = selectNeighbours(&scored, count: limit)
        list[0] = UInt32(selected.count)
        for (index, neighbour) in selected.enumerated() { list[1 + index] = neighbour.slot }
    }

    /// The neighbour-selection heuristic (algorithm 4, as in hnswlib): walking candidates from
    /// closest, keep one only if it is closer to the base than to every one already kept. This
    /// spreads links in different directions, which keeps clusters connected.
    /// `candidates` must be sorted by ascending distance to the base.
    private func selectNeighbours(_ candidates: inout [Candidate], count: Int) -> [Candidate] {
        if candidates.count <= count { return candidates }
        var kept: [Candidate] = []
        kept.reserveCapacity(count)
        for candidate in candidates {
            let point = UnsafePointer(vector(candidate.slot))
            var isDiverse = true
            for other in kept where distance(point, other.slot) < candidate.key {
                isDiverse = false
                break
            }
            if isDiverse {
                kept.append(candidate)
                if kept.count == count { break }
            }
        }
        return kept
    }

    // MARK: Search

    /// Greedy walk on an upper level: move to any closer neighbour until none is closer.
    @inline(__always)
    func greedyDescend(
        query: UnsafePointer<Float>, level: Int, current: inout UInt32, distance currentDistance: inout Float,
        scratch: SearchScratch
    ) {
        let locks = linkLocks
        var changed = true
        while changed {
            changed = false
            let list = Self.stable(links(current, level: level), of: current, locks: locks, copy: scratch.linkCopy)
            let count = Int(list[0])
            var index = 1
            while index <= count {
                let candidate = list[index]
                let candidateDistance = distance(query, candidate)
                if candidateDistance < currentDistance {
                    currentDistance = candidateDistance
                    current = candidate
                    changed = true
                }
                index &+= 1
            }
        }
    }

    /// Best-first search of one level with a dynamic list of `width` results (algorithm 2).
    /// Returns admitted nodes sorted by ascending distance (at most `width`).
    ///
    /// Nodes that are not admitted (filtered out, tombstoned, excluded) are still expanded, but
    /// the search only stops early once `width` admitted results are held, as in hnswlib.
    func searchLayer(
        query: UnsafePointer<Float>, entry: UInt32, level: Int, width: Int,
        admission: Admission, scratch: SearchScratch
    ) -> [Candidate] {
        let generation = scratch.beginSearch(slotCount: slotCount)
        let visited = scratch.visitedStamps
        var candidates = scratch.candidates
        var results = scratch.results  // keys are negated distances: top is the farthest
        defer {
            scratch.candidates = candidates
            scratch.results = results
        }
        let checksAdmission = !admission.admitsAll
        let filter = admission.filter
        let excluded = admission.excluded
        let skipsDeleted = admission.skipsDeleted
        let deleted = deletedFlags
        let ids = externalIDs
        @inline(__always) func admits(_ slot: UInt32) -> Bool {
            if !checksAdmission { return true }
            if slot == excluded { return false }
            if skipsDeleted && deleted[Int(slot)] != 0 { return false }
            if let filter { return filter(ids[Int(slot)]) }
            return true
        }

        let entryDistance = distance(query, entry)
        var bound = Float.infinity
        if admits(entry) {
            results.push(Candidate(key: -entryDistance, slot: entry))
            bound = entryDistance
        }
        candidates.push(Candidate(key: entryDistance, slot: entry))
        visited[Int(entry)] = generation

        let pending = scratch.pendingSlots
        let rowBytes = dimension &* 4
        let pendingDistances = scratch.pendingDistances
        let linkBase = level == 0 ? level0Links : nil
        let stride0 = level0Stride
        let locks = linkLocks
        let linkCopy = scratch.linkCopy
        while !candidates.isEmpty {
            let nearest = candidates.top
            if nearest.key > bound && (results.count >= width || !checksAdmission) { break }
            candidates.pop()
            let list = Self.stable(linkBase.map { $0 + Int(nearest.slot) &* stride0 } ?? links(nearest.slot, level: level),
                                   of: nearest.slot, locks: locks, copy: linkCopy)
            // Three passes instead of one: gather the unvisited neighbours, compute their
            // distances with each next row already on its way from memory, then update the
            // heaps. At 60 k × 384 floats the rows live in DRAM and a row is 24 cache lines, so
            // overlapping their fetch with arithmetic is a large part of the search's speed.
            let count = Int(list[0])
            var pendingCount = 0
            var index = 1
            while index <= count {
                let neighbour = list[index]
                index &+= 1
                if visited[Int(neighbour)] == generation { continue }
                visited[Int(neighbour)] = generation
                pending[pendingCount] = neighbour
                pendingCount &+= 1
            }
            if pendingCount > 0 { prefetchRow(pending[0], bytes: rowBytes) }
            var position = 0
            while position < pendingCount {
                let next = position &+ 1
                if next < pendingCount { prefetchRow(pending[next], bytes: rowBytes) }
                pendingDistances[position] = distance(query, pending[position])
                position = next
            }
            position = 0
            while position < pendingCount {
                let neighbour = pending[position]
                let neighbourDistance = pendingDistances[position]
                position &+= 1
                if results.count < width || neighbourDistance < bound {
                    candidates.push(Candidate(key: neighbourDistance, slot: neighbour))
                    if admits(neighbour) {
                        if results.count < width {
                            results.push(Candidate(key: -neighbourDistance, slot: neighbour))
                        } else {
                            results.replaceTop(Candidate(key: -neighbourDistance, slot: neighbour))
                        }
                        bound = -results.top.key
                    }
                }
            }
        }

        var sorted = [Candidate](repeating: Candidate(key: 0, slot: 0), count: results.count)
        var position = results.count
        while !results.isEmpty {
            position -= 1
            let farthest = results.pop()
            sorted[position] = Candidate(key: -farthest.key, slot: farthest.slot)
        }
        return sorted
    }

    /// Asks for every cache line of a row. Measured on the 60 k benchmark: prefetching the next
    /// row while computing the current one beat touching all rows first with loads (which stall
    /// retirement), prefetching 2 or more rows ahead, and prefetching only the first lines.
    @inline(__always)
    private func prefetchRow(_ slot: UInt32, bytes: Int) {
        let row = UnsafeRawPointer(vector(slot))
        var offset = 0
        while offset < bytes {
            prefetchForRead(row + offset)
            offset &+= 64
        }
    }

    /// Approximate k nearest admitted nodes: greedy descent, then a level-0 search of `width`.
    func search(query: UnsafePointer<Float>, count: Int, width: Int, admission: Admission, scratch: SearchScratch)
        -> [Candidate]
    {
        guard entryPoint != Self.noSlot else { return [] }
        var current = entryPoint
        var currentDistance = distance(query, current)
        if maxLevel > 0 {
            for level in stride(from: maxLevel, to: 0, by: -1) {
                greedyDescend(query: query, level: level, current: &current, distance: &currentDistance,
                              scratch: scratch)
            }
        }
        let found = searchLayer(
            query: query, entry: current, level: 0, width: max(width, count), admission: admission,
            scratch: scratch)
        return Array(found.prefix(count))
    }

    /// Exact k nearest admitted live nodes by scanning every slot; O(slots × dimension).
    func exactSearch(query: UnsafePointer<Float>, count: Int, filter: ((UInt64) -> Bool)?) -> [Candidate] {
        guard count > 0 else { return [] }
        var heap = CandidateHeap(capacity: count + 1)  // negated keys: top is the farthest kept
        defer { heap.deallocate() }
        let rowBytes = dimension &* MemoryLayout<Float>.stride
        @inline(__always) func consider(_ slot: UInt32) {
            let slotDistance = distance(query, slot)
            if heap.count < count {
                heap.push(Candidate(key: -slotDistance, slot: slot))
            } else if slotDistance < -heap.top.key {
                heap.replaceTop(Candidate(key: -slotDistance, slot: slot))
            }
        }
        if let filter {
            // The filter runs first, a chunk of slots at a time, so that only rows that pass
            // are read (and prefetched): a selective filter, the reason this scan runs, then
            // costs the filter calls plus the matching rows, not the whole array.
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Self.exactScanChunkRows) { chunk in
                var nextSlot = 0
                while nextSlot < slotCount {
                    var matched = 0
                    while matched < chunk.count, nextSlot < slotCount {
                        let slot = UInt32(nextSlot)
                        nextSlot &+= 1
                        if !isDeleted(slot), filter(externalIDs[Int(slot)]) {
                            chunk[matched] = slot
                            matched &+= 1
                        }
                    }
                    for position in 0..<matched {
                        if position &+ Self.exactScanPrefetchRows < matched {
                            prefetchRow(chunk[position &+ Self.exactScanPrefetchRows], bytes: rowBytes)
                        }
                        consider(chunk[position])
                    }
                }
            }
        } else {
            for slotIndex in 0..<slotCount {
                let slot = UInt32(slotIndex)
                if slotIndex &+ Self.exactScanPrefetchRows < slotCount {
                    prefetchRow(slot &+ UInt32(Self.exactScanPrefetchRows), bytes: rowBytes)
                }
                if !isDeleted(slot) { consider(slot) }
            }
        }
        var sorted = [Candidate](repeating: Candidate(key: 0, slot: 0), count: heap.count)
        var position = heap.count
        while !heap.isEmpty {
            position -= 1
            let farthest = heap.pop()
            sorted[position] = Candidate(key: -farthest.key, slot: farthest.slot)
        }
        return sorted
    }
}
