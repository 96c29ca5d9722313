// Limits of the cache operations on the wire, each with its reason.

public enum CacheLimits {
    /// Bytes in one key. Redis allows far more, but long keys cost memory on every lookup and a
    /// key this long is almost surely a value sent in the wrong field.
    public static let keyBytesMax = 4096
    /// Keys in one delete: bounds the work of one request (the backend deletes in batches of
    /// `RedisCache.clearBatchKeysMax`).
    public static let deleteKeysMax = 1000
    /// Longest time to live a client may ask for, in milliseconds; the backend's own bound.
    public static let timeToLiveMillisecondsMax = UInt64(CacheArguments.timeToLiveMax.components.seconds) * 1000
}
