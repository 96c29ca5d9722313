// Limits of the memories domain, each with the reason for its value.

enum MemoryLimits {
    /// Labels in a namespace. LangGraph namespaces are short paths (user, app, kind); 32 levels
    /// is far beyond any real use and bounds the SQL built for wildcard matching.
    static let namespaceDepthMax = 32
    /// Bytes of one namespace label: ids and names, never documents.
    static let labelBytesMax = 256
    /// Bytes of a key (LangGraph uses UUIDs or short names).
    static let keyBytesMax = 1024
    /// Bytes of a collection name.
    static let collectionNameBytesMax = 128
    /// Vectors (indexed fields) per item; LangGraph indexes a handful of fields at most.
    static let vectorsPerItemMax = 64
    /// Bytes of a search filter's JSON text.
    static let filterBytesMax = 64 << 10
    /// offset + limit of one search: the index search is run for that many items, and a graph
    /// search wider than this costs more than an exact scan (VectorIndexLimits.searchWidthMax).
    static let searchWindowMax = 10_000
    /// Namespaces returned by one list call.
    static let listNamespacesLimitMax = 10_000
    /// Operations in one batch: enough for LangGraph's batching of a graph step while bounding
    /// the work one request can queue.
    static let batchOperationsMax = 1_000
    /// Longest time to live: 100 years in milliseconds; anything longer is "never".
    static let timeToLiveMillisecondsMax: UInt64 = 100 * 365 * 24 * 3600 * 1000
    /// Search results per streamed partial (spec §7: pages of at most 256 items).
    static let searchPageItemsMax = 256
}
