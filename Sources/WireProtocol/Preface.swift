// The 12 bytes a client sends first: magic, the range of protocol versions it speaks, and the
// features it asks for.
//
//   offset  size  field
//        0     4  magic        A7 41 47 53 ("\xA7AGS")
//        4     2  minVersion   (u16)
//        6     2  maxVersion   (u16)
//        8     4  features     (u32; bit 0 = CRC32C checksums; other bits zero)
//
// 0xA7 is not ASCII, not a TLS record type (0x16), not a RESP type byte, and as the top byte of
// a big-endian PostgreSQL length it would be over 2 GiB, so none of those can be mistaken for us.

public struct Preface: Sendable, Hashable {
    public static let magic: [UInt8] = [0xA7, 0x41, 0x47, 0x53]
    public static let byteCount = 12

    public var minVersion: UInt16
    public var maxVersion: UInt16
    public var features: PrefaceFeatures

    public init(minVersion: UInt16 = ProtocolVersion.current, maxVersion: UInt16 = ProtocolVersion.current,
                features: PrefaceFeatures = []) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.features = features
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter(capacity: Self.byteCount)
        writer.writeRaw(Self.magic)
        writer.writeUInt16(minVersion)
        writer.writeUInt16(maxVersion)
        writer.writeUInt32(features.rawValue)
        return writer.bytes
    }

    /// Rejects a stream as soon as its first bytes cannot start a preface, naming what it looks
    /// like, so a TLS or HTTP client gets a readable error without the server waiting for more.
    public static func checkPrefix(_ bytes: some Collection<UInt8>) throws(ProtocolViolation) {
        for (offset, byte) in bytes.prefix(magic.count).enumerated() where byte != magic[offset] {
            throw ProtocolViolation(.malformedFrame, "bad preface: \(describeForeign(Array(bytes)))")
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(ProtocolViolation) -> Preface {
        try checkPrefix(bytes)
        guard bytes.count == byteCount else {
            throw ProtocolViolation(.malformedFrame, "preface must be \(byteCount) bytes")
        }
        // The length was checked above, so these reads are within bounds.
        let minVersion = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
        let maxVersion = UInt16(bytes[6]) | UInt16(bytes[7]) << 8
        let features = PrefaceFeatures(rawValue: UInt32(bytes[8]) | UInt32(bytes[9]) << 8
                                           | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24)
        guard minVersion <= maxVersion else {
            throw ProtocolViolation(.malformedFrame, "preface minVersion \(minVersion) is above maxVersion \(maxVersion)")
        }
        guard features.rawValue & ~PrefaceFeatures.known.rawValue == 0 else {
            throw ProtocolViolation(.malformedFrame, "preface has reserved feature bits set")
        }
        return Preface(minVersion: minVersion, maxVersion: maxVersion, features: features)
    }

    /// The highest version both sides speak, or nil.
    public func negotiate(serverMin: UInt16, serverMax: UInt16) -> UInt16? {
        let chosen = min(maxVersion, serverMax)
        return chosen >= max(minVersion, serverMin) ? chosen : nil
    }

    private static func describeForeign(_ bytes: [UInt8]) -> String {
        guard let first = bytes.first else { return "empty" }
        let text = String(decoding: bytes.prefix(8), as: UTF8.self)
        if first == 0x16 { return "looks like a TLS handshake; this port speaks the agent-store protocol without TLS" }
        for method in ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "PRI "] where text.hasPrefix(method) {
            return "looks like an HTTP request; this port speaks the agent-store binary protocol"
        }
        if let marker = "*$+-:".utf8.first(where: { $0 == first }) {
            return "looks like a RESP (Redis) command starting with '\(Character(UnicodeScalar(marker)))'"
        }
        if first == 0x00 { return "looks like a PostgreSQL startup packet" }
        return "expected magic A7 41 47 53, got \(Hex.string(bytes.prefix(4), separator: " "))"
    }
}

public struct PrefaceFeatures: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let checksums = PrefaceFeatures(rawValue: 0x1)
    public static let known: PrefaceFeatures = [.checksums]
}

public enum ProtocolVersion {
    public static let current: UInt16 = 1
    public static let oldestSupported: UInt16 = 1
}
