// Tunables of the memories domain, in one place.
import VectorIndex

public struct MemoryConfiguration: Sendable {
    /// Where index snapshots are written (`<dir>/<database id>/collection-<hex>.agvi`); nil
    /// disables snapshots (every start rebuilds from PostgreSQL).
    public var snapshotDirectory: String?
    /// A snapshot is written when there were changes and this long has passed since the last.
    public var snapshotInterval: Duration = .seconds(60)
    /// ... or as soon as this many vector changes accumulated, so a bulk load leaves a recent
    /// snapshot behind and a restart replays little.
    public var snapshotChangesMax = 10_000
    /// Tombstones are kept at least this long after a snapshot covers them, so a snapshot
    /// written by a moment-older run can still be caught up.
    public var tombstoneRetention: Duration = .seconds(3600)
    /// How often expired items are deleted (reads never return them anyway).
    public var sweepInterval: Duration = .seconds(30)
    /// Expired items deleted per transaction by the sweeper.
    public var sweepBatchRows = 1_000
    /// How often the index reads the vector changes committed through other servers sharing
    /// the database (its own writes show at once). About the delay before another server's
    /// write is searchable here; each poll costs a few small queries when nothing changed.
    public var followInterval: Duration = .seconds(1)
    /// How often the background task wakes to check the sweep and snapshot clocks.
    public var tickInterval: Duration = .seconds(2)
    /// HNSW parameters of new indexes. searchWidth 128: the 384-dimension benchmark reaches
    /// recall@10 ≥ 0.95 from about ef 64; 128 leaves margin for filtered searches.
    public var indexParameters = HNSWParameters(maxNeighbors: 16, constructionSearchWidth: 200, searchWidth: 128)

    public init(snapshotDirectory: String? = nil) {
        self.snapshotDirectory = snapshotDirectory
    }
}
