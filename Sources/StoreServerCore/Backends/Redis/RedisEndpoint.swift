// Where a Redis server is and how to log in to it, parsed from a `redis://` URL.
import Foundation

public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Sent with AUTH after connecting when set (RESP2 servers: password only).
    public var password: String?
    /// Selected with SELECT after connecting when not 0.
    public var database: Int

    public init(host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

    /// Parses `redis://[:password@]host[:port][/database]`. `rediss://` is refused because
    /// hiredis 0.14 has no TLS.
    public init(url: String) throws(BackendError) {
        guard let components = URLComponents(string: url) else {
            throw .invalidArgument(field: "REDIS_URL", reason: "not a URL")
        }
        guard components.scheme == "redis" else {
            throw .invalidArgument(field: "REDIS_URL",
                                   reason: "scheme must be redis:// (no TLS support in this build)")
        }
        let host = components.host ?? ""
        let port = components.port ?? 6379
        guard (1...65_535).contains(port) else {
            throw .invalidArgument(field: "REDIS_URL", reason: "port out of range")
        }
        var database = 0
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else {
                throw .invalidArgument(field: "REDIS_URL", reason: "database must be a number")
            }
            database = number
        }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        self.init(host: host.isEmpty ? "127.0.0.1" : host, port: port, password: password,
                  database: database)
    }

    /// Never shows the password, so the endpoint can be logged.
    public var description: String {
        "redis://\(password == nil ? "" : "***@")\(host):\(port)/\(database)"
    }
}
