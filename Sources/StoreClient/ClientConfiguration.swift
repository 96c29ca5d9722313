// What a client needs to reach and talk to one server: address, credential, and the timeouts it
// applies to calls that do not give their own.

public struct ClientConfiguration: Sendable, Hashable {
    /// Host name or numeric address of the server.
    public var host: String
    public var port: UInt16
    /// The bearer token sent in AUTH. Nil: no AUTH is sent (fine for a loopback server without
    /// tokens); connecting to a server that requires auth then fails with `handshakeFailed`.
    public var token: String?
    /// Timeout of a call that does not pass its own; sent in the header and enforced locally.
    public var defaultTimeout: Duration
    /// Bound on TCP connect, preface, HELLO and AUTH together.
    public var connectTimeout: Duration
    /// Ask the server for CRC32C checksums on every frame.
    public var wantsChecksums: Bool

    public init(host: String = "127.0.0.1", port: UInt16, token: String? = nil,
                defaultTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
                wantsChecksums: Bool = false) {
        self.host = host
        self.port = port
        self.token = token
        self.defaultTimeout = defaultTimeout
        self.connectTimeout = connectTimeout
        self.wantsChecksums = wantsChecksums
    }
}
