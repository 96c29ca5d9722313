import WireProtocol

/// Every error a `StoreClient` call throws. `.server` is an error the server sent (its flags are
/// authoritative); every other case was raised by this client. Both kinds answer the same two
/// questions a caller acts on: may I retry, and could the operation have happened anyway?
public enum StoreClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error response.
    case server(ErrorBody)
    /// TCP connect, preface, HELLO or AUTH did not complete (refused, unreachable, timed out).
    /// Nothing was sent for the call.
    case connectFailed(reason: String)
    /// The server's HELLO cannot be used (no common version, auth required but no token,
    /// checksums forced on us). Retrying with the same configuration fails again.
    case handshakeFailed(reason: String)
    /// The connection broke while the call was in flight: the server may have executed it.
    case connectionLost(reason: String)
    /// No final response within the call's timeout; a CANCEL was sent. The server may have
    /// executed it.
    case timedOut(after: Duration)
    /// The calling task was cancelled; a CANCEL was sent. The server may have executed it.
    case cancelled
    /// The server broke the protocol (bad frame, impossible response); the connection was
    /// closed. The server may have executed the call.
    case protocolViolation(String)
    /// The server sent GO_AWAY with a last request id below this call's: by the spec it was not
    /// executed. The client re-sends such calls on a new connection a bounded number of times.
    case serverGoingAway(lastRequestID: UInt64)
    /// The request body is larger than the server's `max_message_bytes`; nothing was sent.
    case requestTooLarge(limit: Int, actual: Int)
    /// `close()` was called; nothing was sent.
    case closed

    /// Sending the same call again (on this or a new connection) may succeed.
    public var isRetryable: Bool {
        switch self {
        case let .server(body): body.flags.contains(.retryable)
        case .connectFailed, .connectionLost, .timedOut, .serverGoingAway: true
        case .handshakeFailed, .cancelled, .protocolViolation, .requestTooLarge, .closed: false
        }
    }

    /// The operation may or may not have been applied; retry only if it is idempotent.
    public var outcomeUnknown: Bool {
        switch self {
        case let .server(body): body.flags.contains(.outcomeUnknown)
        case .connectionLost, .timedOut, .cancelled, .protocolViolation: true
        case .connectFailed, .handshakeFailed, .serverGoingAway, .requestTooLarge, .closed: false
        }
    }

    /// True when the server provably did not execute the call, so re-sending is safe even for
    /// writes that are not idempotent.
    var wasNotExecuted: Bool {
        switch self {
        case .serverGoingAway: true
        case let .server(body): body.code == .shuttingDown
        default: false
        }
    }

    public var description: String {
        switch self {
        case let .server(body): "server error \(body.code): \(body.message)"
        case let .connectFailed(reason): "connect failed: \(reason)"
        case let .handshakeFailed(reason): "handshake failed: \(reason)"
        case let .connectionLost(reason): "connection lost: \(reason)"
        case let .timedOut(after): "no response within \(after)"
        case .cancelled: "cancelled by the caller"
        case let .protocolViolation(reason): "server broke the protocol: \(reason)"
        case let .serverGoingAway(lastRequestID): "server going away after request \(lastRequestID)"
        case let .requestTooLarge(limit, actual): "request of \(actual) bytes exceeds the server's limit of \(limit)"
        case .closed: "client is closed"
        }
    }
}
