// The limits a server enforces and announces in its hello. Defaults are named here with the
// reason for each; a server may configure other values, and clients obey what the hello says.

public struct ProtocolLimits: Sendable, Hashable {
    /// Largest frame body after authentication: 1 MiB keeps one frame from holding up the
    /// connection for long (larger messages are chunked) while keeping per-frame cost low.
    public static let frameBodyBytesMaxDefault = 1 << 20
    /// Largest frame body before authentication: the handshake, auth and ping bodies are tiny,
    /// and an unauthenticated peer must not make the server buffer much.
    public static let unauthenticatedFrameBodyBytesMax = 4 << 10
    /// Largest reassembled message (all chunks of one request or one streamed partial): 64 MiB
    /// holds checkpoints of long message histories ("tens of MB") with headroom.
    public static let messageBytesMaxDefault = 64 << 20
    /// Requests in flight on one connection: enough for a heavily pipelined client (1,000
    /// concurrent calls) while bounding what one connection can queue.
    public static let inFlightRequestsMaxDefault = 1024
    /// Largest vector dimension: covers common embedding models (up to 4096-dimensional ones).
    public static let vectorDimensionMaxDefault = 4096
    /// Largest k of a search: results beyond this are paged with offset.
    public static let searchCountMaxDefault = 1000
    /// Timeout applied when a request's timeout field is 0.
    public static let defaultTimeoutMillisecondsDefault: UInt32 = 30_000
    /// Longest timeout a request may ask for; larger values are clamped to it.
    public static let timeoutMillisecondsMaxDefault: UInt32 = 300_000
    /// A connection with nothing in flight that sends no request for this long is closed.
    public static let idleTimeoutMillisecondsDefault: UInt32 = 300_000

    public var frameBodyBytesMax: Int
    public var messageBytesMax: Int
    public var inFlightRequestsMax: Int
    public var vectorDimensionMax: Int
    public var searchCountMax: Int
    public var defaultTimeoutMilliseconds: UInt32
    public var timeoutMillisecondsMax: UInt32
    public var idleTimeoutMilliseconds: UInt32

    public init(frameBodyBytesMax: Int = frameBodyBytesMaxDefault,
                messageBytesMax: Int = messageBytesMaxDefault,
                inFlightRequestsMax: Int = inFlightRequestsMaxDefault,
                vectorDimensionMax: Int = vectorDimensionMaxDefault,
                searchCountMax: Int = searchCountMaxDefault,
                defaultTimeoutMilliseconds: UInt32 = defaultTimeoutMillisecondsDefault,
                timeoutMillisecondsMax: UInt32 = timeoutMillisecondsMaxDefault,
                idleTimeoutMilliseconds: UInt32 = idleTimeoutMillisecondsDefault) {
        self.frameBodyBytesMax = frameBodyBytesMax
        self.messageBytesMax = messageBytesMax
        self.inFlightRequestsMax = inFlightRequestsMax
        self.vectorDimensionMax = vectorDimensionMax
        self.searchCountMax = searchCountMax
        self.defaultTimeoutMilliseconds = defaultTimeoutMilliseconds
        self.timeoutMillisecondsMax = timeoutMillisecondsMax
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    /// The timeout that applies to a request whose header asked for `requested` (0 = default).
    public func effectiveTimeoutMilliseconds(requested: UInt32) -> UInt32 {
        requested == 0 ? defaultTimeoutMilliseconds : min(requested, timeoutMillisecondsMax)
    }
}
