// Where and how to connect: a libpq URL (`postgresql://user:pass@host:port/db?...`) or key=value
// conninfo, validated once with libpq's own parser, plus defaults that keep an outage from
// hanging the server.
import CLibpq
import Foundation

public struct PostgresConnectionSettings: Sendable, Equatable {
    /// Default for `connectTimeoutSeconds`. libpq waits this long per host for a TCP connect and
    /// the startup handshake; short so that an outage turns into an error, not a hang.
    public static let connectTimeoutSecondsDefault = 5
    /// libpq's minimum effective connect_timeout is 2 s; smaller values are raised to it.
    public static let connectTimeoutSecondsMin = 2

    /// The URL or conninfo as given. May contain a password: never log it, use `description`.
    public let connectionString: String
    public let connectTimeoutSeconds: Int
    public let applicationName: String
    /// Schema put first on every connection's search_path (nil = the server's default), so the
    /// server's tables live apart from other applications' in a shared database.
    public let schema: String?

    /// Throws `BackendError.invalidArgument` when libpq cannot parse the string.
    public init(url connectionString: String,
                connectTimeoutSeconds: Int = connectTimeoutSecondsDefault,
                applicationName: String = "agent-store", schema: String? = nil) throws(BackendError) {
        var message: UnsafeMutablePointer<CChar>? = nil
        guard let options = PQconninfoParse(connectionString, &message) else {
            let reason = message.map { String(cString: $0) } ?? "cannot parse connection string"
            if let message { PQfreemem(message) }
            throw .invalidArgument(field: "DATABASE_URL", reason: reason.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        PQconninfoFree(options)
        self.connectionString = connectionString
        self.connectTimeoutSeconds = max(connectTimeoutSeconds, Self.connectTimeoutSecondsMin)
        self.applicationName = applicationName
        if let schema {
            guard !schema.isEmpty, schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), schema.count <= 63 else {
                throw .invalidArgument(field: "schema", reason: "a schema name is 1-63 letters, digits or underscores")
            }
        }
        self.schema = schema
    }

    /// Keyword/value pairs for PQconnectdbParams. Our defaults come first and the caller's string
    /// last (as an expanded dbname), so settings given in the URL win over the defaults.
    var keywordValuePairs: [(String, String)] {
        [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
            // TCP keepalives notice a peer that vanished without closing the connection.
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
        ] + (schema.map { [("options", "-c search_path=\($0),public")] } ?? []) + [
            ("dbname", connectionString),
        ]
    }

    /// host:port/dbname without user or password, for logs.
    public var description: String {
        var message: UnsafeMutablePointer<CChar>? = nil
        guard let options = PQconninfoParse(connectionString, &message) else {
            if let message { PQfreemem(message) }
            return "(unparsable)"
        }
        defer { PQconninfoFree(options) }
        var host = "", port = "", database = ""
        var option = options
        while let keyword = option.pointee.keyword {
            let value = option.pointee.val.map { String(cString: $0) } ?? ""
            switch String(cString: keyword) {
            case "host": if !value.isEmpty { host = value }
            case "port": port = value
            case "dbname": database = value
            default: break
            }
            option += 1
        }
        return "\(host.isEmpty ? "localhost" : host):\(port.isEmpty ? "5432" : port)/\(database)"
    }
}
