// Splits the server's cache into two key spaces so that a client can never write, and so poison,
// a record the server caches for itself (a conversation served read-through), and a client's
// clear-by-prefix never needs to know about the server's records.

enum CacheKeySpace {
    /// Keys set through the cache operations on the wire.
    static let clientPrefix: [UInt8] = Array("u:".utf8)
    /// Records the server caches (conversations).
    static let recordPrefix: [UInt8] = Array("r:".utf8)

    static func client(_ key: [UInt8]) -> [UInt8] { clientPrefix + key }
    static func record(_ key: String) -> [UInt8] { recordPrefix + Array(key.utf8) }
}
