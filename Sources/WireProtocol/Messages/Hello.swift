// The server's answer to the preface: the chosen version and a typed map of limits and
// capabilities. Clients ignore keys they do not know.

public struct Hello: WireMessage, Hashable {
    public var version: UInt16
    public var capabilities: ValueMap

    public init(version: UInt16, capabilities: ValueMap) {
        self.version = version
        self.capabilities = capabilities
    }

    public init(version: UInt16, limits: ProtocolLimits, serverID: String, serverVersion: String,
                authenticationRequired: Bool, checksums: Bool) {
        self.version = version
        capabilities = [
            CapabilityKey.serverID: .string(serverID),
            CapabilityKey.serverVersion: .string(serverVersion),
            CapabilityKey.frameBodyBytesMax: .int(Int64(limits.frameBodyBytesMax)),
            CapabilityKey.messageBytesMax: .int(Int64(limits.messageBytesMax)),
            CapabilityKey.inFlightRequestsMax: .int(Int64(limits.inFlightRequestsMax)),
            CapabilityKey.vectorDimensionMax: .int(Int64(limits.vectorDimensionMax)),
            CapabilityKey.searchCountMax: .int(Int64(limits.searchCountMax)),
            CapabilityKey.defaultTimeoutMilliseconds: .int(Int64(limits.defaultTimeoutMilliseconds)),
            CapabilityKey.timeoutMillisecondsMax: .int(Int64(limits.timeoutMillisecondsMax)),
            CapabilityKey.idleTimeoutMilliseconds: .int(Int64(limits.idleTimeoutMilliseconds)),
            CapabilityKey.authMechanisms: .list(authenticationRequired ? [.string("token")] : []),
            CapabilityKey.authRequired: .bool(authenticationRequired),
            CapabilityKey.checksum: .string(checksums ? "crc32c" : "none"),
        ]
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeUInt16(version)
        writer.writeValueMap(capabilities)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> Hello {
        Hello(version: try reader.readUInt16("version"), capabilities: try reader.readValueMap())
    }

    /// The limits announced, falling back to defaults for keys an older server did not send.
    public var limits: ProtocolLimits {
        func integer(_ key: String, _ fallback: Int) -> Int {
            capabilities[key]?.intValue.map { Int(clamping: $0) } ?? fallback
        }
        return ProtocolLimits(
            frameBodyBytesMax: integer(CapabilityKey.frameBodyBytesMax, ProtocolLimits.frameBodyBytesMaxDefault),
            messageBytesMax: integer(CapabilityKey.messageBytesMax, ProtocolLimits.messageBytesMaxDefault),
            inFlightRequestsMax: integer(CapabilityKey.inFlightRequestsMax, ProtocolLimits.inFlightRequestsMaxDefault),
            vectorDimensionMax: integer(CapabilityKey.vectorDimensionMax, ProtocolLimits.vectorDimensionMaxDefault),
            searchCountMax: integer(CapabilityKey.searchCountMax, ProtocolLimits.searchCountMaxDefault),
            defaultTimeoutMilliseconds: UInt32(clamping: integer(CapabilityKey.defaultTimeoutMilliseconds, Int(ProtocolLimits.defaultTimeoutMillisecondsDefault))),
            timeoutMillisecondsMax: UInt32(clamping: integer(CapabilityKey.timeoutMillisecondsMax, Int(ProtocolLimits.timeoutMillisecondsMaxDefault))),
            idleTimeoutMilliseconds: UInt32(clamping: integer(CapabilityKey.idleTimeoutMilliseconds, Int(ProtocolLimits.idleTimeoutMillisecondsDefault)))
        )
    }

    public var authenticationRequired: Bool { capabilities[CapabilityKey.authRequired]?.boolValue ?? true }
    public var checksumsEnabled: Bool { capabilities[CapabilityKey.checksum]?.stringValue == "crc32c" }
}

public enum CapabilityKey {
    public static let serverID = "server_id"
    public static let serverVersion = "server_version"
    public static let frameBodyBytesMax = "max_frame_body_bytes"
    public static let messageBytesMax = "max_message_bytes"
    public static let inFlightRequestsMax = "max_in_flight"
    public static let vectorDimensionMax = "max_vector_dim"
    public static let searchCountMax = "max_k"
    public static let defaultTimeoutMilliseconds = "default_timeout_ms"
    public static let timeoutMillisecondsMax = "max_timeout_ms"
    public static let idleTimeoutMilliseconds = "idle_timeout_ms"
    public static let authMechanisms = "auth_mechanisms"
    public static let authRequired = "auth_required"
    public static let checksum = "checksum"
}
