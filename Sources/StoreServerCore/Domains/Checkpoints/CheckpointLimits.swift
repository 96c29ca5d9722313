// Limits of the checkpoint domain, each with the reason for its value.

public enum CheckpointLimits {
    /// Records per LIST partial response: the catalogue-wide page size (protocol-spec §7).
    public static let listPageRecordsMax = 256
    /// A LIST partial is sent early once its records hold this many bytes, so a page of large
    /// checkpoints never nears `max_message_bytes` (64 MiB) and the client sees data sooner.
    public static let listPageBytesTarget = 8 << 20
    /// Checkpoint rows read by LIST's first round trip. Small enough that a batch of
    /// tens-of-megabyte checkpoints stays within a few hundred MB of server memory at worst.
    public static let listFetchRowsFirst = 32
    /// LIST doubles its batch up to this many rows while batches stay under
    /// `listFetchGrowthBytesMax`: long lists of small checkpoints need fewer round trips (each
    /// one sorts the thread's rows again).
    public static let listFetchRowsMax = 256
    /// A batch larger than this keeps the next one from growing.
    public static let listFetchGrowthBytesMax = 4 << 20
    /// Bytes in any identifier (thread, namespace, checkpoint, task, channel, version, type):
    /// real ids are UUIDs and short names; the cap keeps index entries far below PostgreSQL's
    /// btree row limit (about 2.7 kB per entry across the key).
    public static let identifierBytesMax = 512
    /// Bytes of a task path, which nests the paths of parent tasks.
    public static let taskPathBytesMax = 2048
    /// Bytes of a metadata or filter JSON document: metadata is small (source, step, run ids);
    /// large state belongs in channel values.
    public static let metadataBytesMax = 1 << 20
    /// Entries in channel_versions, blobs or writes of one request: graphs have tens of channels.
    public static let channelsPerRequestMax = 10_000
    /// Run ids in DELETE_FOR_RUNS and thread ids in PRUNE: one statement handles them all.
    public static let idsPerRequestMax = 10_000
}
