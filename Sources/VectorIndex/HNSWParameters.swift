// Build and search knobs of an HNSW index, fixed at creation.

/// Parameters of the HNSW graph (Malkov & Yashunin, 2016).
public struct HNSWParameters: Sendable, Equatable {
    /// M: links kept per node on levels above 0; level 0 keeps `2 * maxNeighbors`.
    /// Higher M raises recall and memory.
    public var maxNeighbors: Int
    /// efConstruction: candidates considered when linking a new node. 200 matches hnswlib's usual
    /// setting; on 60 k × 384 it builds in under a minute on one core (see BENCHMARKS-index.md).
    public var constructionSearchWidth: Int
    /// ef used by `nearest` when the caller gives none (raised to the result count if smaller).
    public var searchWidth: Int
    /// Seed of the level generator, so that the same inserts in the same order give the same graph.
    public var seed: UInt64

    public init(
        maxNeighbors: Int = 16,
        constructionSearchWidth: Int = 200,
        searchWidth: Int = 64,
        seed: UInt64 = 0x5EED_0F_1D3C
    ) {
        self.maxNeighbors = maxNeighbors
        self.constructionSearchWidth = constructionSearchWidth
        self.searchWidth = searchWidth
        self.seed = seed
    }

    func validate() throws(VectorIndexError) {
        guard (2...VectorIndexLimits.neighborsPerNodeMax).contains(maxNeighbors) else {
            throw .invalidParameter("maxNeighbors \(maxNeighbors) not in 2...\(VectorIndexLimits.neighborsPerNodeMax)")
        }
        guard (1...VectorIndexLimits.searchWidthMax).contains(constructionSearchWidth) else {
            throw .invalidParameter("constructionSearchWidth \(constructionSearchWidth) not in 1...\(VectorIndexLimits.searchWidthMax)")
        }
        guard (1...VectorIndexLimits.searchWidthMax).contains(searchWidth) else {
            throw .invalidParameter("searchWidth \(searchWidth) not in 1...\(VectorIndexLimits.searchWidthMax)")
        }
    }
}
