// Escaping for Redis glob patterns (SCAN MATCH, KEYS), so a literal prefix matches only itself.

enum GlobPattern {
    /// Bytes special to Redis' glob matcher (`stringmatchlen`): `*`, `?`, `[`, `]`, `\`. `^` and
    /// `-` are special only inside brackets, which escaping `[` rules out.
    private static let specialBytes: Set<UInt8> = Set("*?[]\\".utf8)

    /// A pattern matching every key that starts with `prefix`, whatever bytes it holds.
    static func matchingPrefix(_ prefix: [UInt8]) -> [UInt8] {
        var pattern: [UInt8] = []
        pattern.reserveCapacity(prefix.count * 2 + 1)
        for byte in prefix {
            if specialBytes.contains(byte) { pattern.append(UInt8(ascii: "\\")) }
            pattern.append(byte)
        }
        pattern.append(UInt8(ascii: "*"))
        return pattern
    }
}
