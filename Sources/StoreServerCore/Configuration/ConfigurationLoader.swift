// Builds a ServerConfiguration from environment variables, overridden by command-line options
import Glibc
// (`--port 7411` or `--port=7411`). Unknown options are an error so typos do not go unnoticed.
import WireProtocol

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
}

public enum ConfigurationLoader {
    /// Option name -> environment variable name, in the order shown by --help.
    static let options: [(option: String, environment: String, help: String)] = [
        ("host", "STORE_HOST", "listen address (default 127.0.0.1)"),
        ("port", "STORE_PORT", "listen port (default 7411; 0 = any free port)"),
        ("data-dir", "STORE_DATA_DIR", "data directory for the managed PostgreSQL and Redis (default ./var)"),
        ("database-url", "DATABASE_URL", "PostgreSQL URL; unset = managed local PostgreSQL"),
        ("redis-url", "REDIS_URL", "Redis URL; unset = managed local Redis"),
        ("auth-tokens", "STORE_AUTH_TOKENS", "comma-separated name:token pairs; unset = loopback clients only"),
        ("allow-unauthenticated-remote", "STORE_ALLOW_UNAUTHENTICATED_REMOTE", "true to accept remote clients without tokens"),
        ("max-connections", "STORE_MAX_CONNECTIONS", "open connections at once (default 1024)"),
        ("max-in-flight", "STORE_MAX_IN_FLIGHT", "requests in flight per connection (default 1024)"),
        ("max-frame-bytes", "STORE_MAX_FRAME_BYTES", "largest frame body after auth (default 1048576)"),
        ("max-message-bytes", "STORE_MAX_MESSAGE_BYTES", "largest chunked message (default 67108864)"),
        ("idle-timeout-ms", "STORE_IDLE_TIMEOUT_MS", "close idle connections after (default 300000)"),
        ("handshake-timeout-ms", "STORE_HANDSHAKE_TIMEOUT_MS", "preface+auth deadline (default 10000)"),
        ("frame-timeout-ms", "STORE_FRAME_TIMEOUT_MS", "deadline to finish a started frame (default 30000)"),
        ("default-timeout-ms", "STORE_DEFAULT_TIMEOUT_MS", "request timeout when the client gives 0 (default 30000)"),
        ("max-timeout-ms", "STORE_MAX_TIMEOUT_MS", "largest request timeout (default 300000)"),
        ("drain-timeout-ms", "STORE_DRAIN_TIMEOUT_MS", "graceful shutdown wait (default 30000)"),
        ("io-queues", "STORE_IO_QUEUES", "serial I/O queues (default: number of cores)"),
        ("server-id", "STORE_SERVER_ID", "name announced in the hello"),
        ("http-port", "STORE_HTTP_PORT", "port of the HTTP /health and /metrics listener (default off)"),
        ("http-host", "STORE_HTTP_HOST", "address of the HTTP listener (default 127.0.0.1)"),
        ("database-schema", "STORE_DATABASE_SCHEMA", "PostgreSQL schema of the server's tables (default agent_store)"),
        ("pool-size", "DB_POOL_SIZE", "PostgreSQL connections kept open (default 5)"),
        ("pool-overflow", "DB_MAX_OVERFLOW", "extra PostgreSQL connections under load (default 10)"),
        ("pool-pre-ping", "DB_POOL_PRE_PING", "check an idle connection before reuse (default true)"),
        ("pool-recycle-seconds", "DB_POOL_RECYCLE", "replace connections older than this (default 3600)"),
        ("redis-pool-size", "STORE_REDIS_POOL_SIZE", "Redis connections of the cache (default 4, at most 64)"),
        ("enable-cache", "ENABLE_CACHE", "false turns the Redis cache off (default true)"),
        ("cache-ttl-seconds", "CACHE_TTL", "default cache TTL (default 3600)"),
        ("cache-hot-reload-seconds", "CACHE_HOT_RELOAD_INTERVAL", "refresh interval of warm conversations (default 60)"),
        ("managed-postgres-port", "STORE_MANAGED_POSTGRES_PORT", "port of the managed PostgreSQL (default 55439)"),
        ("managed-redis-port", "STORE_MANAGED_REDIS_PORT", "port of the managed Redis (default 56389)"),
        ("memory-follow-interval-ms", "STORE_MEMORY_FOLLOW_INTERVAL_MS", "how often memories read other servers' writes (default 1000)"),
        ("log-level", "LOG_LEVEL", "debug, info, notice, warning, error (default info)"),
    ]

    public static var usage: String {
        var text = "usage: store-server [--option value ...]\n\nOptions (environment variable in brackets):\n"
        for entry in options {
            text += "  --\(entry.option.padding(toLength: 30, withPad: " ", startingAt: 0)) [\(entry.environment)] \(entry.help)\n"
        }
        return text
    }

    public static func load(arguments: [String], environment: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        var values: [String: String] = [:]
        for entry in options {
            if let value = environment[entry.environment], !value.isEmpty { values[entry.option] = value }
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else { throw ConfigurationError(description: "unexpected argument \(argument)") }
            var name = String(argument.dropFirst(2))
            var value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                index += 1
                guard index < arguments.count else { throw ConfigurationError(description: "--\(name) needs a value") }
                value = arguments[index]
            }
            guard options.contains(where: { $0.option == name }) else {
                throw ConfigurationError(description: "unknown option --\(name)\n\n\(usage)")
            }
            values[name] = value
            index += 1
        }
        return try build(values)
    }

    private static func build(_ values: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.ioQueueCount = max(1, System.coreCount)
        if let host = values["host"] { configuration.host = host }
        if let port = values["port"] { configuration.port = try number(port, "port", max: 65535) }
        if let directory = values["data-dir"] { configuration.dataDirectory = directory }
        configuration.databaseURL = values["database-url"]
        configuration.redisURL = values["redis-url"]
        if let tokens = values["auth-tokens"] { configuration.authTokens = try parseTokens(tokens) }
        if let allow = values["allow-unauthenticated-remote"] { configuration.allowUnauthenticatedRemote = try boolean(allow, "allow-unauthenticated-remote") }
        if let value = values["max-connections"] { configuration.connectionsMax = try number(value, "max-connections", max: 1_000_000) }
        if let value = values["max-in-flight"] { configuration.limits.inFlightRequestsMax = try number(value, "max-in-flight", max: 1_000_000) }
        if let value = values["max-frame-bytes"] {
            configuration.limits.frameBodyBytesMax = try number(value, "max-frame-bytes", max: 64 << 20)
            guard configuration.limits.frameBodyBytesMax >= ProtocolLimits.unauthenticatedFrameBodyBytesMax else {
                throw ConfigurationError(description: "--max-frame-bytes must be at least \(ProtocolLimits.unauthenticatedFrameBodyBytesMax)")
            }
        }
        if let value = values["max-message-bytes"] { configuration.limits.messageBytesMax = try number(value, "max-message-bytes", max: 1 << 30) }
        if let value = values["idle-timeout-ms"] { configuration.limits.idleTimeoutMilliseconds = try number(value, "idle-timeout-ms", max: UInt32.max) }
        if let value = values["default-timeout-ms"] { configuration.limits.defaultTimeoutMilliseconds = try number(value, "default-timeout-ms", max: UInt32.max) }
        if let value = values["max-timeout-ms"] { configuration.limits.timeoutMillisecondsMax = try number(value, "max-timeout-ms", max: UInt32.max) }
        if let value = values["handshake-timeout-ms"] { configuration.handshakeTimeout = .milliseconds(try number(value, "handshake-timeout-ms", max: Int.max) as Int) }
        if let value = values["frame-timeout-ms"] { configuration.frameCompletionTimeout = .milliseconds(try number(value, "frame-timeout-ms", max: Int.max) as Int) }
        if let value = values["drain-timeout-ms"] { configuration.drainTimeout = .milliseconds(try number(value, "drain-timeout-ms", max: Int.max) as Int) }
        if let value = values["memory-follow-interval-ms"] {
            configuration.memoryFollowInterval = .milliseconds(try number(value, "memory-follow-interval-ms", max: 3_600_000) as Int)
            guard configuration.memoryFollowInterval > .zero else {
                throw ConfigurationError(description: "memory-follow-interval-ms must be at least 1")
            }
        }
        if let value = values["io-queues"] { configuration.ioQueueCount = try number(value, "io-queues", max: 256) }
        if let value = values["server-id"] { configuration.serverID = value }
        if let value = values["http-port"] { configuration.statusPort = try number(value, "http-port", max: 65535) }
        if let value = values["http-host"] { configuration.statusHost = value }
        if let value = values["database-schema"] { configuration.databaseSchema = value }
        if let value = values["pool-size"] { configuration.postgresPool.connectionsKept = try number(value, "pool-size", max: 1000) }
        if let value = values["pool-overflow"] { configuration.postgresPool.overflowConnectionsMax = try number(value, "pool-overflow", max: 1000) }
        if let value = values["pool-pre-ping"] {
            // Pre-ping off means never health-check an idle connection before reuse.
            if !(try boolean(value, "pool-pre-ping")) { configuration.postgresPool.healthCheckAfterIdle = .seconds(Int64(Int32.max)) }
        }
        if let value = values["pool-recycle-seconds"] { configuration.postgresPool.connectionLifetimeMax = .seconds(try number(value, "pool-recycle-seconds", max: Int.max) as Int) }
        if let value = values["redis-pool-size"] {
            configuration.redisPoolSize = try number(value, "redis-pool-size", min: 1, max: ServerConfiguration.redisPoolSizeMax)
        }
        if let value = values["enable-cache"] { configuration.cacheEnabled = try boolean(value, "enable-cache") }
        if let value = values["cache-ttl-seconds"] { configuration.cacheDefaultTimeToLive = .seconds(try number(value, "cache-ttl-seconds", max: 365 * 86400) as Int) }
        if let value = values["cache-hot-reload-seconds"] { configuration.cacheHotReloadInterval = .seconds(try number(value, "cache-hot-reload-seconds", max: 86400) as Int) }
        if let value = values["managed-postgres-port"] { configuration.managedPostgresPort = try number(value, "managed-postgres-port", max: 65535) }
        if let value = values["managed-redis-port"] { configuration.managedRedisPort = try number(value, "managed-redis-port", max: 65535) }
        if let value = values["log-level"] {
            guard let level = LogLevel(name: value) else { throw ConfigurationError(description: "unknown log level \(value)") }
            configuration.logLevel = level
        }
        guard configuration.limits.defaultTimeoutMilliseconds <= configuration.limits.timeoutMillisecondsMax else {
            throw ConfigurationError(description: "default timeout must not exceed the maximum timeout")
        }
        return configuration
    }

    static func parseTokens(_ text: String) throws(ConfigurationError) -> [(name: String, token: String)] {
        var tokens: [(name: String, token: String)] = []
        for entry in text.split(separator: ",") {
            guard let colon = entry.firstIndex(of: ":"), colon != entry.startIndex, entry.index(after: colon) != entry.endIndex else {
                throw ConfigurationError(description: "auth tokens must be name:token pairs separated by commas")
            }
            tokens.append((String(entry[..<colon]), String(entry[entry.index(after: colon)...])))
        }
        return tokens
    }

    private static func number<T: FixedWidthInteger>(_ text: String, _ name: String, min: T = 0, max: T) throws(ConfigurationError) -> T {
        guard let value = T(text), value >= min, value <= max else {
            throw ConfigurationError(description: "--\(name) must be an integer between \(min) and \(max), got \(text)")
        }
        return value
    }

    private static func boolean(_ text: String, _ name: String) throws(ConfigurationError) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(description: "--\(name) must be true or false, got \(text)")
        }
    }
}

enum System {
    static var coreCount: Int {
        let count = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return count > 0 ? count : 1
    }
}
