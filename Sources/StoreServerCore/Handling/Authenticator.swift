// Token authentication. Only SHA-256 hashes of the configured tokens are kept; a credential is
// hashed and compared against every entry in constant time, so neither timing nor an early exit
// tells which token or how much of it matched.

public struct Authenticator: Sendable {
    private let entries: [(name: String, hash: [UInt8])]
    /// Longest credential accepted; longer ones fail without hashing megabytes.
    static let credentialBytesMax = 1024
    /// Failed attempts on one connection before it is closed.
    public static let failuresBeforeClose = 5

    public init(tokens: [(name: String, token: String)]) {
        entries = tokens.map { ($0.name, SHA256.hash(Array($0.token.utf8))) }
    }

    public var isEnabled: Bool { !entries.isEmpty }

    /// The name of the matching token, or nil.
    public func principal(for credential: [UInt8]) -> String? {
        guard credential.count <= Self.credentialBytesMax else { return nil }
        let hash = SHA256.hash(credential)
        var match: String?
        for entry in entries where constantTimeEquals(entry.hash, hash) && match == nil {
            match = entry.name
        }
        return match
    }

    /// Delay before answering the n-th failure (1-based): 100 ms doubled each time, at most 2 s.
    public static func failureDelayMilliseconds(failureCount: Int) -> Int {
        min(2000, 100 << min(max(failureCount - 1, 0), 5))
    }
}
