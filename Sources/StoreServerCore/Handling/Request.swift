// What an operation handler sees of a request, and the error type handlers throw.
import WireProtocol

public struct Request: Sendable {
    public let opcode: Opcode
    public let requestID: UInt64
    public let body: [UInt8]
    /// Monotonic nanoseconds after which the answer is deadline_exceeded.
    public let deadline: UInt64
    /// The token name the connection authenticated with; nil when auth is not required.
    public let principal: String?
    public let connectionID: UInt64
    public let limits: ProtocolLimits

    /// Decodes the body as `M`; a decoding failure becomes invalid_argument in ErrorMapping.
    public func decode<M: WireMessage>(_ type: M.Type) throws -> M {
        try M.decode(body: body)
    }
}

/// Lets a long-running handler send partial results of a streamed response before its final one.
public protocol ResponseStreaming: Sendable {
    func sendPartial(_ body: [UInt8])
}

/// An error a handler reports to the client with a specific code.
public struct RequestError: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: ValueMap
    public var flags: ErrorFlags?

    public init(_ code: ErrorCode, _ message: String, details: ValueMap = [:], flags: ErrorFlags? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.flags = flags
    }

    public static func invalidArgument(field: String, _ reason: String) -> RequestError {
        RequestError(.invalidArgument, "\(field): \(reason)", details: ["field": .string(field)])
    }

    public var description: String { "\(code.name): \(message)" }
}
