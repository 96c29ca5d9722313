// The memories domain: LangGraph store semantics over PostgreSQL with an in-process vector
// index (spec §7.4).
import Foundation

public enum MemoryDomain {
    /// The domain with its defaults: index snapshots in `<dataDirectory>/memories`.
    public static let domain = Domain(name: "memories", migrations: MemoryMigrations.all) { router, backends in
        let directory = URL(fileURLWithPath: backends.configuration.dataDirectory).appendingPathComponent("memories").path
        var configuration = MemoryConfiguration(snapshotDirectory: directory)
        configuration.followInterval = backends.configuration.memoryFollowInterval
        register(into: &router, backends: backends, configuration: configuration)
    }

    /// A domain instance with its own configuration (tests use a private snapshot directory).
    public static func domain(configuration: MemoryConfiguration) -> Domain {
        Domain(name: "memories", migrations: MemoryMigrations.all) { router, backends in
            register(into: &router, backends: backends, configuration: configuration)
        }
    }

    /// Builds the service over the backends' PostgreSQL, registers its operations and starts
    /// its background task, which loads the index at once so the server is ready sooner.
    private static func register(into router: inout OperationRouter, backends: Backends, configuration: MemoryConfiguration) {
        let logger = backends.logger.labeled("memories")
        let service = MemoryService(store: PostgresMemoryStore(pool: backends.postgres), configuration: configuration,
                                    logger: logger)
        MemoryHandlers(service: service).register(into: &router)
        let catalogue = service.catalogue
        backends.metrics.registerGauge("memory_index_vectors", help: "Vectors in the in-process memory index, all collections.") {
            Double(catalogue.totalVectorCount)
        }
        let follower = service.follower
        backends.metrics.registerGauge("memory_follow_age_seconds",
                                       help: "Seconds since this server's memory index last caught up with every committed write.") {
            follower.followAge / .seconds(1)
        }
        let background = MemorySweeper.start(service)
        let following = MemoryIndexFollower.start(service)
        backends.stopActions.add("memories") {
            background.cancel()
            following.cancel()
            await background.value
            await following.value
            await service.writeSnapshotOnStop()
        }
    }
}
