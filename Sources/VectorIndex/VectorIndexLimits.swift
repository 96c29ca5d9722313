// Hard ceilings for the index; each bounds memory or work and is checked on input and on load.

/// Limits of `VectorIndex`, checked on every call and on every snapshot load so that neither a
/// caller's mistake nor a corrupt file can make the index allocate without bound.
public enum VectorIndexLimits {
    /// Largest vector dimension. Embedding models in use stay at or below 4,096; a larger value
    /// in a snapshot header is far more likely corruption than a real index.
    public static let dimensionMax = 4_096

    /// Largest M (links per node above level 0; level 0 has 2·M). Past 128 the graph costs more
    /// memory than it gains in recall for any dimension we serve.
    public static let neighborsPerNodeMax = 128

    /// Largest search width (ef) and result count. Wider searches are slower than `exactNearest`.
    public static let searchWidthMax = 10_000

    /// Highest level a node may be assigned. With M ≥ 2 the expected top level of 2³² nodes is
    /// below 32, so the cap only guards against a corrupt snapshot.
    public static let levelMax = 32

    /// Most slots (live plus tombstoned vectors). Slots are `UInt32` internally and
    /// `UInt32.max` marks "no slot".
    public static let slotCountMax = Int(UInt32.max - 1)

    /// Most threads one batch insert links on. The index lives on small servers; past a core
    /// each, extra threads only contend for the link locks.
    public static let insertParallelismMax = 64
}
