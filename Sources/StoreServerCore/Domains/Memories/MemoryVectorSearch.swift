// A vector search with a namespace prefix and filter that never silently returns fewer or
// worse results than exist.
//
// Strategy: with a namespace prefix or a filter, PostgreSQL first returns the ids of every
// vector whose item is live and in scope (the filter is evaluated there, on jsonb), and the
// index searches with membership in that set as its filter *during* the graph walk; the index
// itself switches to an exact scan when the set is a small fraction of the collection, and
// re-runs exactly when the walk finds fewer than asked. Without prefix and filter the index
// searches unfiltered. Either way the hits are re-read from PostgreSQL (live, in scope) and
// folded per item (an item's score is its best field's); when that leaves fewer than
// offset + limit items while the index may hold more, the search widens (doubling the count)
// and, if rows were dropped as expired, switches to the exact in-scope id set.
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

    func run(query: [Float], offset: Int, limit: Int) async throws -> [Hit] {
        let wanted = offset + limit
        let countMax = VectorIndexLimits.searchWidthMax
        var allowed: Set<UInt64>? = scope.isUnrestricted ? nil : try await store.vectorIDs(in: index.collection.name, scope: scope)
        if let allowed, allowed.isEmpty { return [] }
        var count = min(wanted, countMax)
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
                return Array(hits.dropFirst(offset).prefix(limit))
            }
            if allowed == nil && rows.count < found.count {
                // Some hits were expired or just deleted: restrict to what is live.
                allowed = try await store.vectorIDs(in: index.collection.name, scope: scope)
                if allowed!.isEmpty { return [] }
            }
            count = min(count * 2, countMax)
        }
    }
}
