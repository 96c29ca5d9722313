// Every tunable of the server in one place ("knobs"), with its default and the reason for it.
// Protocol limits announced to clients live in WireProtocol's ProtocolLimits.
import WireProtocol

public struct ServerConfiguration: Sendable {
    /// Address to listen on; loopback by default so a fresh server is not exposed by accident.
    public var host = "127.0.0.1"
    /// 0 asks the kernel for a free port (tests); the bound port is reported after start.
    public var port: UInt16 = 7411
    public var limits = ProtocolLimits()

    /// Open connections at once; more are answered overloaded and closed. Each connection costs
    /// a file descriptor and its buffers.
    public var connectionsMax = 1024
    /// Preface, hello and auth must finish within this time, so idle half-open sockets cannot
    /// pile up before authentication.
    public var handshakeTimeout: Duration = .seconds(10)
    /// Once a frame has started arriving it must be complete within this time (slow senders).
    public var frameCompletionTimeout: Duration = .seconds(30)
    /// Above this many unsent bytes a connection stops reading requests until the client drains
    /// its responses (backpressure against clients that do not read).
    public var outputBufferBytesHigh = 8 << 20
    /// Reading resumes when the unsent bytes fall below this.
    public var outputBufferBytesLow = 1 << 20
    /// How long a graceful shutdown waits for in-flight requests before closing anyway.
    public var drainTimeout: Duration = .seconds(30)
    /// How often the memory index reads vector writes committed through other servers: the
    /// delay before they are searchable here (see MemoryConfiguration.followInterval).
    public var memoryFollowInterval: Duration = .seconds(1)
    /// Serial queues that run connection I/O; one per core keeps every core busy without
    /// contention between queues.
    public var ioQueueCount = 2
    /// Named tokens: (name, token). Empty means no authentication, loopback clients only.
    public var authTokens: [(name: String, token: String)] = []
    /// With no tokens configured, accept non-loopback clients anyway (explicit operator choice).
    public var allowUnauthenticatedRemote = false
    public var serverID = "store-server"
    /// Port of the HTTP status listener (/health, /metrics); nil = off.
    public var statusPort: UInt16?
    /// Its address; loopback by default so metrics are not exposed by accident.
    public var statusHost = "127.0.0.1"
    public var logLevel: LogLevel = .info

    /// The data directory of the managed local backends.
    public var dataDirectory = "./var"
    /// PostgreSQL to use; nil runs a managed local cluster in `dataDirectory`.
    public var databaseURL: String?
    /// Redis to use; nil runs a managed local redis-server in `dataDirectory`.
    public var redisURL: String?
    /// Ports of the managed local servers (private, so they do not clash with system ones).
    public var managedPostgresPort = 55439
    public var managedRedisPort = 56389
    public var postgresPool = PostgresPoolConfiguration()
    /// The PostgreSQL schema holding every table of the server: its own, so that it can share a
    /// database with other applications (LangGraph's Postgres saver also has a `checkpoints` table).
    public var databaseSchema = "agent_store"
    /// Redis connections the cache keeps at most. Commands issued together share round trips on
    /// them (automatic pipelining), so a few carry a lot; more help when single batches are slow.
    public var redisPoolSize = 4
    /// Ceiling of `redisPoolSize`. Each connection holds a Dispatch worker thread while its batch
    /// is in flight, and libdispatch on Linux caps the worker threads of the whole process at 255,
    /// shared with PostgreSQL connections and I/O queues; more Redis connections than this cannot
    /// make a single-threaded Redis faster, only take those threads away.
    public static let redisPoolSizeMax = 64
    /// false turns the cache off: cache operations miss and nothing goes to Redis.
    public var cacheEnabled = true
    /// TTL of cache entries set without one.
    public var cacheDefaultTimeToLive: Duration = .seconds(3600)
    /// How often recently active conversations are refreshed in the cache.
    public var cacheHotReloadInterval: Duration = .seconds(60)
    /// Bytes the in-process fallback cache may hold while Redis is unreachable.
    public var fallbackCacheBytesMax = 64 << 20
    /// Every Redis key this server writes starts with this, so clearing never touches others.
    public var redisKeyPrefix = "agentstore:"

    public init() {}

    /// The smallest timeout granularity needed: connection timers tick at a quarter of the
    /// shortest timeout so each fires at most 25% late, but no more often than every 10 ms.
    var connectionTickInterval: Duration {
        let shortest = [handshakeTimeout, frameCompletionTimeout,
                        .milliseconds(Int(limits.idleTimeoutMilliseconds))].min()!
        return max(.milliseconds(10), min(.seconds(1), shortest / 4))
    }
}

public enum ServerVersion {
    public static let current = "0.1.0"
}
