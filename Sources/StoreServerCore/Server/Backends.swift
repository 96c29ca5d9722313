// The storage backends a running server uses, built once at start and handed to every domain's
// handlers. Tests build the same bundle against their own PostgreSQL and Redis.
import Foundation
import WireProtocol

public struct Backends: Sendable {
    public let postgres: PostgresPool
    /// The cache: FallbackCache over Redis, or DisabledCache when the cache is off.
    public let cache: any CacheBackend
    public let configuration: ServerConfiguration
    public let logger: Logger
    /// Counters domains add to (cache hits and misses...), exported with the server's metrics.
    public let metrics: OperationMetrics
    /// Work domains add to run on a clean stop (after the drain, before the backends close).
    public let stopActions: StopActions

    public init(postgres: PostgresPool, cache: any CacheBackend, configuration: ServerConfiguration, logger: Logger,
                metrics: OperationMetrics = OperationMetrics(), stopActions: StopActions = StopActions()) {
        self.postgres = postgres
        self.cache = cache
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.stopActions = stopActions
    }
}

/// Every domain's schema migrations, in version order. Each domain owns a range of versions
/// (checkpoints 100-199, conversations 200-299, memories 400-499) so they never collide.
public enum SchemaCatalogue {
    public static var migrations: [Migration] {
        DomainCatalogue.all.flatMap(\.migrations).sorted { $0.version < $1.version }
    }
}

/// A data domain: its migrations and its operations.
public struct Domain: Sendable {
    public let name: String
    public let migrations: [Migration]
    public let register: @Sendable (inout OperationRouter, Backends) -> Void

    public init(name: String, migrations: [Migration], register: @escaping @Sendable (inout OperationRouter, Backends) -> Void) {
        self.name = name
        self.migrations = migrations
        self.register = register
    }
}

public enum DomainCatalogue {
    /// Domains add themselves here.
    public static let all: [Domain] = [
        CheckpointDomain.domain,
        MemoryDomain.domain,
        CacheDomain.domain,
        ConversationsDomain.domain,
    ]

    public static func router(for backends: Backends) -> OperationRouter {
        var router = OperationRouter()
        for domain in all { domain.register(&router, backends) }
        return router
    }
}

/// Reports PostgreSQL as up or down from the pool's last known state, probing when it is down.
public struct PostgresHealthSource: HealthSource {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func currentHealth() async -> BackendHealth {
        let healthy = pool.isHealthy ? true : await pool.checkHealth()
        let statistics = pool.statistics
        return BackendHealth(name: "postgres", state: healthy ? .up : .down,
                             detail: "open=\(statistics.open) in_use=\(statistics.inUse) waiters=\(statistics.waiters)")
    }
}

/// Reports the cache: up, degraded (serving from the in-process fallback) or not configured.
struct CacheHealthSource: HealthSource {
    let cache: any CacheBackend

    func currentHealth() async -> BackendHealth {
        switch cache.health {
        case .up: BackendHealth(name: "redis", state: .up)
        case .degraded: BackendHealth(name: "redis", state: .degraded, detail: "serving from the in-process fallback cache")
        case .down: BackendHealth(name: "redis", state: .down)
        case .disabled: BackendHealth(name: "redis", state: .notConfigured, detail: "cache disabled")
        }
    }
}
