// Bodies of the session operations: auth, ping, go-away and health.

public struct AuthRequest: WireMessage, Hashable {
    public var mechanism: String
    public var credential: [UInt8]

    public init(mechanism: String = "token", credential: [UInt8]) {
        self.mechanism = mechanism
        self.credential = credential
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(mechanism)
        writer.writeBytes(credential)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> AuthRequest {
        AuthRequest(mechanism: try reader.readString("mechanism"), credential: try reader.readBytes("credential"))
    }
}

public struct AuthResponse: WireMessage, Hashable {
    /// The name of the token that matched; never the token itself.
    public var principal: String

    public init(principal: String) { self.principal = principal }

    public func write(into writer: inout ByteWriter) { writer.writeString(principal) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> AuthResponse {
        AuthResponse(principal: try reader.readString("principal"))
    }
}

/// Ping request and response carry the same opaque 8 bytes, so the sender can match them.
public struct PingMessage: WireMessage, Hashable {
    public var payload: UInt64

    public init(payload: UInt64) { self.payload = payload }

    public func write(into writer: inout ByteWriter) { writer.writeUInt64(payload) }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> PingMessage {
        PingMessage(payload: try reader.readUInt64("payload"))
    }
}

/// Sent by the server (request id 0) when it stops taking requests: it completes every request
/// with an id up to `lastRequestID` and answers later ones with shutting_down.
public struct GoAway: WireMessage, Hashable {
    public var lastRequestID: UInt64
    public var code: ErrorCode
    public var message: String

    public init(lastRequestID: UInt64, code: ErrorCode = .shuttingDown, message: String) {
        self.lastRequestID = lastRequestID
        self.code = code
        self.message = message
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeUInt64(lastRequestID)
        writer.writeUInt16(code.rawValue)
        writer.writeString(message)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> GoAway {
        GoAway(lastRequestID: try reader.readUInt64("lastRequestID"),
               code: ErrorCode(rawValue: try reader.readUInt16("code")),
               message: try reader.readString("message"))
    }
}

public enum BackendState: UInt8, Sendable, Hashable, CaseIterable {
    case notConfigured = 0
    case up = 1
    case degraded = 2
    case down = 3

    public var name: String {
        switch self {
        case .notConfigured: "not_configured"
        case .up: "up"
        case .degraded: "degraded"
        case .down: "down"
        }
    }
}

public struct BackendHealth: Sendable, Hashable {
    public var name: String
    public var state: BackendState
    public var detail: String

    public init(name: String, state: BackendState, detail: String = "") {
        self.name = name
        self.state = state
        self.detail = detail
    }
}

public struct HealthResponse: WireMessage, Hashable {
    public var status: BackendState
    public var serverVersion: String
    public var protocolVersion: UInt16
    public var uptimeMilliseconds: UInt64
    public var connectionCount: UInt32
    public var inFlightCount: UInt32
    public var backends: [BackendHealth]

    public init(status: BackendState, serverVersion: String, protocolVersion: UInt16, uptimeMilliseconds: UInt64,
                connectionCount: UInt32, inFlightCount: UInt32, backends: [BackendHealth]) {
        self.status = status
        self.serverVersion = serverVersion
        self.protocolVersion = protocolVersion
        self.uptimeMilliseconds = uptimeMilliseconds
        self.connectionCount = connectionCount
        self.inFlightCount = inFlightCount
        self.backends = backends
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeUInt8(status.rawValue)
        writer.writeString(serverVersion)
        writer.writeUInt16(protocolVersion)
        writer.writeUInt64(uptimeMilliseconds)
        writer.writeUInt32(connectionCount)
        writer.writeUInt32(inFlightCount)
        writer.writeList(backends) { writer, backend in
            writer.writeString(backend.name)
            writer.writeUInt8(backend.state.rawValue)
            writer.writeString(backend.detail)
        }
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> HealthResponse {
        let status = try readState(&reader)
        let serverVersion = try reader.readString("serverVersion")
        let protocolVersion = try reader.readUInt16("protocolVersion")
        let uptime = try reader.readUInt64("uptimeMs")
        let connections = try reader.readUInt32("connections")
        let inFlight = try reader.readUInt32("inFlight")
        // Each backend entry is at least two 4-byte lengths and a state byte.
        let count = try reader.readCount("backends", minimumElementBytes: 9)
        var backends: [BackendHealth] = []
        for _ in 0..<count {
            backends.append(BackendHealth(name: try reader.readString("backend name"),
                                          state: try readState(&reader),
                                          detail: try reader.readString("backend detail")))
        }
        return HealthResponse(status: status, serverVersion: serverVersion, protocolVersion: protocolVersion,
                              uptimeMilliseconds: uptime, connectionCount: connections, inFlightCount: inFlight,
                              backends: backends)
    }

    private static func readState(_ reader: inout ByteReader) throws(WireDecodingError) -> BackendState {
        let raw = try reader.readUInt8("state")
        guard let state = BackendState(rawValue: raw) else {
            throw .invalidField(field: "state", reason: "unknown backend state \(raw)")
        }
        return state
    }
}
