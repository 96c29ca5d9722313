// Parsing and validation of the server's settings from environment variables and options.
import Foundation
import XCTest
@testable import StoreServerCore

final class ConfigurationLoaderTests: XCTestCase {
    func testRedisPoolSizeDefaultsToFour() throws {
        let configuration = try ConfigurationLoader.load(arguments: [], environment: [:])
        XCTAssertEqual(configuration.redisPoolSize, 4)
    }

    func testRedisPoolSizeFromEnvironmentAndOption() throws {
        XCTAssertEqual(try ConfigurationLoader.load(arguments: [], environment: ["STORE_REDIS_POOL_SIZE": "8"]).redisPoolSize, 8)
        XCTAssertEqual(try ConfigurationLoader.load(arguments: ["--redis-pool-size", "2"], environment: [:]).redisPoolSize, 2)
        XCTAssertEqual(try ConfigurationLoader.load(arguments: ["--redis-pool-size=3"], environment: [:]).redisPoolSize, 3)
    }

    func testRedisPoolSizeOptionOverridesEnvironment() throws {
        let configuration = try ConfigurationLoader.load(arguments: ["--redis-pool-size", "16"],
                                                         environment: ["STORE_REDIS_POOL_SIZE": "8"])
        XCTAssertEqual(configuration.redisPoolSize, 16)
    }

    func testRedisPoolSizeBoundsAreInclusive() throws {
        let largest = String(ServerConfiguration.redisPoolSizeMax)
        XCTAssertEqual(try ConfigurationLoader.load(arguments: ["--redis-pool-size", "1"], environment: [:]).redisPoolSize, 1)
        XCTAssertEqual(try ConfigurationLoader.load(arguments: ["--redis-pool-size", largest], environment: [:]).redisPoolSize,
                       ServerConfiguration.redisPoolSizeMax)
    }

    func testRedisPoolSizeOutsideBoundsOrNotANumberIsRefused() {
        let tooLarge = String(ServerConfiguration.redisPoolSizeMax + 1)
        for value in ["0", "-1", tooLarge, "four", "4.5", ""] {
            let arguments = ["--redis-pool-size", value]
            XCTAssertThrowsError(try ConfigurationLoader.load(arguments: arguments, environment: [:]), "accepted \(value)") { error in
                XCTAssertTrue("\(error)".contains("--redis-pool-size must be an integer between 1 and"), "\(error)")
            }
        }
        // The environment variable goes through the same check.
        XCTAssertThrowsError(try ConfigurationLoader.load(arguments: [], environment: ["STORE_REDIS_POOL_SIZE": "0"]))
    }

    func testRedisPoolSizeIsListedInUsage() {
        XCTAssertTrue(ConfigurationLoader.usage.contains("--redis-pool-size"))
        XCTAssertTrue(ConfigurationLoader.usage.contains("[STORE_REDIS_POOL_SIZE]"))
    }

    func testOtherNumbersStillAcceptZero() throws {
        // The lower bound is per setting: port 0 still asks the kernel for a free port.
        XCTAssertEqual(try ConfigurationLoader.load(arguments: ["--port", "0"], environment: [:]).port, 0)
    }
}

/// The setting reaches the pool the server builds (real PostgreSQL and Redis).
final class RedisPoolSizeWiringTests: XCTestCase {
    func testConfiguredSizeReachesTheRedisPool() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let databaseURL = environment["TEST_DATABASE_URL"], let redisURL = environment["TEST_REDIS_URL"] else {
            throw BackendFixture.MissingEnvironment()
        }
        var configuration = try ConfigurationLoader.load(
            arguments: ["--database-url", databaseURL, "--redis-url", redisURL, "--redis-pool-size", "7"], environment: [:])
        configuration.redisKeyPrefix = "agentstore-test-\(getpid())-pool-size:"
        let logger = Logger(subsystem: "test-redis-pool-size", minimumLevel: .error, sink: CollectingSink())
        let launcher = try await BackendLauncher.start(configuration: configuration, logger: logger)
        let size = launcher.redisPool?.configuration.size
        await launcher.stop()
        XCTAssertEqual(size, 7)
    }
}
