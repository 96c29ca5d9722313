// Real PostgreSQL and Redis for domain tests: the servers started by scripts/with-backends.sh
// (TEST_DATABASE_URL, TEST_REDIS_URL), migrated once per test process, and a store server in
// process with every domain's operations.
import Foundation
import XCTest
import StoreServerCore
import WireProtocol

enum BackendFixture {
    struct MissingEnvironment: Error, CustomStringConvertible {
        let description = "TEST_DATABASE_URL and TEST_REDIS_URL must be set: run the tests through scripts/test.sh or scripts/with-backends.sh"
    }

    private static let shared = Task<Backends, any Error> {
        let environment = ProcessInfo.processInfo.environment
        guard let databaseURL = environment["TEST_DATABASE_URL"], let redisURL = environment["TEST_REDIS_URL"] else {
            throw MissingEnvironment()
        }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.databaseURL = databaseURL
        configuration.redisURL = redisURL
        configuration.redisKeyPrefix = "agentstore-test-\(getpid()):"
        // Fixture servers are shut down without their domains' stop actions, so each one's
        // memory follow loop would poll for the rest of the run, and reload every index when
        // MemoryFollowTests prunes tombstones under them. Tests of following start their own
        // instances with a short interval.
        configuration.memoryFollowInterval = .seconds(3_600)
        let logger = Logger(subsystem: "test-backends", minimumLevel: .error, sink: CollectingSink())
        return try await BackendLauncher.start(configuration: configuration, logger: logger).backends
    }

    /// Backends shared by every test in the process.
    static func backends() async throws -> Backends {
        try await shared.value
    }

    /// A server in process with every domain's operations over the shared backends.
    static func server(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) async throws -> Server {
        let backends = try await backends()
        var configuration = backends.configuration
        configuration.port = 0
        adjust(&configuration)
        let server = Server(configuration: configuration, router: DomainCatalogue.router(for: backends),
                            healthSources: [], logger: backends.logger, metrics: backends.metrics)
        try server.start()
        return server
    }
}
