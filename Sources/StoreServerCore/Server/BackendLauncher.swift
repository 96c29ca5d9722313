// Starts the backends in order (managed PostgreSQL and Redis when no URL is given, the pool,
// migrations, the cache) and stops them in reverse order.
import Foundation

public final class BackendLauncher: Sendable {
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let managedPostgres: ManagedPostgres?
    private let managedRedis: ManagedRedis?
    public let backends: Backends
    private let fallbackCache: FallbackCache?
    /// Internal (not private) so a test can check that the configured pool size reaches the pool.
    let redisPool: RedisPool?

    private init(configuration: ServerConfiguration, logger: Logger, managedPostgres: ManagedPostgres?, managedRedis: ManagedRedis?,
                 backends: Backends, fallbackCache: FallbackCache?, redisPool: RedisPool?) {
        self.configuration = configuration
        self.logger = logger
        self.managedPostgres = managedPostgres
        self.managedRedis = managedRedis
        self.backends = backends
        self.fallbackCache = fallbackCache
        self.redisPool = redisPool
    }

    public static func start(configuration: ServerConfiguration, logger: Logger) async throws -> BackendLauncher {
        var managedPostgres: ManagedPostgres?
        let databaseURL: String
        if let url = configuration.databaseURL {
            databaseURL = url
        } else {
            let directory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let managed = ManagedPostgres(dataDirectory: directory, port: configuration.managedPostgresPort,
                                          logger: logger.labeled("managed-postgres"))
            logger.notice("starting managed PostgreSQL", ["directory": managed.clusterDirectory])
            databaseURL = try await managed.start()
            managedPostgres = managed
        }
        let pool = PostgresPool(settings: try PostgresConnectionSettings(url: databaseURL, schema: configuration.databaseSchema),
                                configuration: configuration.postgresPool, logger: logger.labeled("postgres"))
        do {
            let applied = try await SchemaMigrator(pool: pool, migrations: SchemaCatalogue.migrations,
                                                   schema: configuration.databaseSchema,
                                                   logger: logger.labeled("migrations")).migrate()
            if !applied.isEmpty { logger.notice("applied schema migrations", ["versions": applied]) }
        } catch {
            await pool.shutdown()
            try? await managedPostgres?.stop() // Already failing; the migration error is the one to report.
            throw error
        }

        var managedRedis: ManagedRedis?
        var fallbackCache: FallbackCache?
        var redisPool: RedisPool?
        let cache: any CacheBackend
        if configuration.cacheEnabled {
            let endpoint: RedisEndpoint
            if let url = configuration.redisURL {
                endpoint = try RedisEndpoint(url: url)
            } else {
                let root = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL
                logger.notice("starting managed Redis", ["directory": root.appendingPathComponent("redis").path])
                let managed = try await ManagedRedis.start(
                    configuration: .init(port: configuration.managedRedisPort, dataDirectory: root),
                    logger: logger.labeled("managed-redis"))
                endpoint = managed.endpoint
                managedRedis = managed
            }
            let pool = RedisPool(configuration: .init(endpoint: endpoint, size: configuration.redisPoolSize), logger: logger.labeled("redis"))
            let fallback = FallbackCache(redis: RedisCache(pool: pool, keyPrefix: configuration.redisKeyPrefix),
                                         fallback: InProcessCache(capacityBytes: configuration.fallbackCacheBytesMax),
                                         logger: logger.labeled("cache"))
            redisPool = pool
            fallbackCache = fallback
            cache = fallback
        } else {
            cache = DisabledCache()
        }
        let backends = Backends(postgres: pool, cache: cache, configuration: configuration, logger: logger)
        return BackendLauncher(configuration: configuration, logger: logger, managedPostgres: managedPostgres,
                               managedRedis: managedRedis, backends: backends, fallbackCache: fallbackCache, redisPool: redisPool)
    }

    public var healthSources: [any HealthSource] {
        [PostgresHealthSource(pool: backends.postgres), CacheHealthSource(cache: backends.cache)]
    }

    public func stop() async {
        fallbackCache?.shutdown()
        redisPool?.shutdown()
        await backends.postgres.shutdown()
        await managedRedis?.stop()
        if let managedPostgres {
            do {
                try await managedPostgres.stop()
            } catch {
                logger.error("managed PostgreSQL did not stop cleanly", ["error": error])
            }
        }
    }
}
