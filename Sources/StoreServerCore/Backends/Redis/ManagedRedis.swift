// The managed local mode: with no REDIS_URL the server runs a private `redis-server` as a child
// process in its data directory, waits until it answers PING, and stops it on shutdown.
import Foundation
import Synchronization

public final class ManagedRedis: Sendable {
    public struct Configuration: Sendable {
        /// The loopback port to listen on. Must be free.
        public var port: Int
        /// Redis' working directory is `<dataDirectory>/redis`; its log file lives there too.
        public var dataDirectory: URL
        /// `redis-server` to run; nil searches PATH, then /usr/bin.
        public var executablePath: String?
        /// How long to wait for the first PING answer; redis-server is usually ready in well
        /// under 0.1 s, so this only bounds a hung or crashing start.
        public var startTimeout: Duration
        /// How long to wait for the process to exit after SHUTDOWN before sending SIGTERM, and
        /// again before SIGKILL.
        public var stopTimeout: Duration
        /// False (the default) deletes a `dump.rdb` left in the directory (by a manual SAVE)
        /// before starting: cached values from an earlier run may be stale against PostgreSQL,
        /// and a cache that starts empty is always correct. Tests set it to simulate a Redis that
        /// comes back with its old data.
        public var loadsExistingSnapshot: Bool

        public init(port: Int, dataDirectory: URL, executablePath: String? = nil,
                    startTimeout: Duration = .seconds(10), stopTimeout: Duration = .seconds(5),
                    loadsExistingSnapshot: Bool = false) {
            self.port = port
            self.dataDirectory = dataDirectory
            self.executablePath = executablePath
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
            self.loadsExistingSnapshot = loadsExistingSnapshot
        }
    }

    public let configuration: Configuration
    public let endpoint: RedisEndpoint
    private let logger: Logger
    /// `Process` is not Sendable; it is only touched under this lock.
    private let process: Mutex<Process?>

    private init(configuration: Configuration, endpoint: RedisEndpoint, process: Process, logger: Logger) {
        self.configuration = configuration
        self.endpoint = endpoint
        self.process = Mutex(process)
        self.logger = logger
    }

    /// Starts redis-server and returns once it answers PING.
    /// - Throws: `.unavailable` when the executable is missing, the port is already served,
    ///   the process exits early or does not answer within `startTimeout`.
    public static func start(configuration: Configuration, logger: Logger) async throws(BackendError) -> ManagedRedis {
        let logger = logger.labeled("managed-redis")
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: configuration.port)
        let executable = try findExecutable(configuration.executablePath)
        // A server already answering on the port (an orphan of an earlier run, or someone
        // else's) would otherwise be mistaken for ours. A failed PING is the expected case,
        // so its error is not needed.
        if (try? await ping(endpoint)) != nil { // A failed PING is the expected case.
            throw .unavailable(backend: "redis", reason: "port \(configuration.port) is already served",
                               outcomeUnknown: false)
        }
        let directory = configuration.dataDirectory.appendingPathComponent("redis", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unavailable(backend: "redis", reason: "cannot create \(directory.path): \(error)",
                               outcomeUnknown: false)
        }
        let snapshot = directory.appendingPathComponent("dump.rdb")
        if !configuration.loadsExistingSnapshot, FileManager.default.fileExists(atPath: snapshot.path) {
            do {
                try FileManager.default.removeItem(at: snapshot)
            } catch {
                throw .unavailable(backend: "redis", reason: "cannot remove stale \(snapshot.path): \(error)",
                                   outcomeUnknown: false)
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // A cache needs no persistence: no RDB snapshots, no AOF.
        process.arguments = [
            "--port", String(configuration.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", directory.path, "--logfile", "redis.log",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw .unavailable(backend: "redis", reason: "cannot start \(executable): \(error)",
                               outcomeUnknown: false)
        }
        let managed = ManagedRedis(configuration: configuration, endpoint: endpoint, process: process,
                                   logger: logger)
        do {
            try await managed.waitUntilReady()
        } catch {
            await managed.stop()
            throw error
        }
        logger.info("started redis-server", ["port": configuration.port, "pid": process.processIdentifier,
                                              "directory": directory.path])
        return managed
    }

    /// Stops the server without saving (SHUTDOWN NOSAVE), then escalates to SIGTERM and
    /// SIGKILL if it does not exit in time. Safe to call more than once.
    public func stop() async {
        guard let process = process.withLock({ $0 }) else { return }
        if process.isRunning {
            do {
                let connection = try await RedisConnection.connect(
                    to: endpoint, connectTimeout: .seconds(1), commandTimeout: .seconds(1))
                // SHUTDOWN closes the connection instead of replying, so an error is expected.
                _ = try? await connection.execute(["SHUTDOWN", "NOSAVE"]) // Closes instead of replying.
                connection.close()
            } catch {
                logger.warning("cannot send SHUTDOWN; terminating", ["error": error])
            }
        }
        if await !waitForExit(process, within: configuration.stopTimeout) {
            process.terminate()
            if await !waitForExit(process, within: configuration.stopTimeout) {
                kill(process.processIdentifier, SIGKILL)
                _ = await waitForExit(process, within: configuration.stopTimeout)
            }
        }
        self.process.withLock { $0 = nil }
        logger.info("stopped redis-server", ["port": configuration.port])
    }

    private func waitUntilReady() async throws(BackendError) {
        let deadline = ContinuousClock.now + configuration.startTimeout
        var lastError: BackendError?
        while ContinuousClock.now < deadline {
            let running = process.withLock { $0?.isRunning ?? false }
            guard running else {
                throw .unavailable(backend: "redis",
                                   reason: "redis-server exited at start; see \(configuration.dataDirectory.path)/redis/redis.log",
                                   outcomeUnknown: false)
            }
            do {
                try await Self.ping(endpoint)
                return
            } catch {
                lastError = error
            }
            try? await Task.sleep(for: .milliseconds(20))  // only cancellation throws, and no caller cancels a start
        }
        throw .unavailable(backend: "redis",
                           reason: "redis-server did not answer PING in time: \(lastError.map { "\($0)" } ?? "")",
                           outcomeUnknown: false)
    }

    private func waitForExit(_ process: Process, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))  // only cancellation throws; the deadline bounds the loop anyway
        }
        return true
    }

    private static func ping(_ endpoint: RedisEndpoint) async throws(BackendError) {
        let connection = try await RedisConnection.connect(to: endpoint, connectTimeout: .milliseconds(500),
                                                           commandTimeout: .milliseconds(500))
        defer { connection.close() }
        _ = try await connection.execute(["PING"]).checked(for: "PING")
    }

    private static func findExecutable(_ configured: String?) throws(BackendError) -> String {
        let fileManager = FileManager.default
        if let configured {
            guard fileManager.isExecutableFile(atPath: configured) else {
                throw .unavailable(backend: "redis", reason: "\(configured) is not executable", outcomeUnknown: false)
            }
            return configured
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/redis-server" } + ["/usr/bin/redis-server"]
        guard let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0) }) else {
            throw .unavailable(backend: "redis",
                               reason: "redis-server not found on PATH or in /usr/bin (apt-get install redis-server)",
                               outcomeUnknown: false)
        }
        return found
    }
}
