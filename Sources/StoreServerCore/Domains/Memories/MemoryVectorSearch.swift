// A vector search with a namespace prefix and filter that never silently returns fewer or
// worse results than exist.
//
// Strategy. Every round ranks vectors in the index, re-reads the hits from PostgreSQL keeping
// only live, in-scope items (prefix and filter evaluated there, on jsonb) and folds them per
// item (an item's score is its best field's). Because the hits are a prefix of the ranking,
// the in-scope items among them are the best in-scope items.
//  1. The first round ranks without a filter (for a prefix or filter, 4 × (offset + limit),
//     at least 64): a broad scope is served by it.
//  2. If it drops hits (out of scope, expired) and leaves too few, PostgreSQL returns the ids
//     of every in-scope vector, and the index searches with membership in that set as its
//     filter *during* the graph walk; the index itself scans exactly when the set is under 10%
//     of the collection, and re-runs exactly when the walk finds fewer than asked.
//  3. While a round leaves fewer than offset + limit items and the index may hold more, the
//     count doubles.
import VectorIndex
import WireProtocol

struct MemoryVectorSearch {
    let store: any MemoryStore
    let index: MemoryIndex
    let workers: MemoryIndexWorkers
    let scope: MemoryScope
    let searchWidth: Int

    struct Hit {
        var itemID: Int64
        var item: MemorySearchItem
    }

    /// The page of scored items, and the number of scored items in scope when the page reached
    /// their end (nil when more may follow).
    func run(query: [Float], offset: Int, limit: Int) async throws -> (page: [Hit], scoredCount: Int?) {
        let wanted = offset + limit
        let countMax = VectorIndexLimits.searchWidthMax
        var allowed: Set<UInt64>?
        var count = scope.isUnrestricted ? min(wanted, countMax) : min(max(wanted * 4, 64), countMax)
        while true {
            let (vectorIndex, requested, width, admitted) = (index.index, count, max(count, searchWidth), allowed)
            let found = try await workers.run {
                let filter: ((UInt64) -> Bool)? = admitted.map { set in { set.contains($0) } }
                return try vectorIndex.nearest(to: query, count: requested, searchWidth: width, filter: filter)
            }
            let rows = try await store.items(forVectorIDs: found.map(\.id), scope: scope)
            var seen = Set<Int64>()
            var hits: [Hit] = []
            for result in found {
                guard let row = rows[result.id], seen.insert(row.itemID).inserted else { continue }
                hits.append(Hit(itemID: row.itemID,
                                item: MemorySearchItem(item: row.item, score: index.score(distance: result.distance))))
            }
            let exhausted = found.count < count || count >= countMax
            if hits.count >= wanted || exhausted {
                return (Array(hits.dropFirst(offset).prefix(limit)), hits.count >= wanted ? nil : hits.count)
            }
            if allowed == nil && rows.count < found.count {
                // Hits were out of scope, expired or just deleted: search the exact in-scope set.
                let inScope = try await store.vectorIDs(in: index.collection.name, scope: scope)
                if inScope.isEmpty { return ([], 0) }
                allowed = inScope
                count = min(wanted, countMax)
                continue
            }
            count = min(count * 2, countMax)
        }
    }
}
