// The managed local mode: without DATABASE_URL the server runs its own PostgreSQL cluster in
// `<dataDirectory>/postgres`, created with initdb on first run, listening only on a private unix
// socket, and stopped with a fast shutdown when the server stops. Settings stay durable.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class ManagedPostgres: Sendable {
    /// How long pg_ctl waits for the server to start or stop. Crash recovery after an unclean
    /// stop replays WAL and can take a while on a large cluster.
    public static let startStopTimeoutSeconds = 120
    /// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    static let socketPathBytesMax = 107
    /// The superuser created by initdb, whatever the operating system user is.
    public static let databaseUser = "postgres"
    private static let backendName = "managed-postgresql"

    public let dataDirectory: String
    public let port: Int
    /// `<dataDirectory>/postgres`, the cluster's data directory.
    public let clusterDirectory: String
    /// Where the server puts its unix socket; private to this server (mode 0700).
    public let socketDirectory: String
    private let binDirectoryOverride: String?
    private let logger: Logger
    /// Process launches block; they run here, never on the cooperative pool.
    private let queue = DispatchQueue(label: "agent-store.managed-postgres")

    /// `binDirectory`: where initdb and pg_ctl live; by default the highest version under
    /// /usr/lib/postgresql/*/bin, else PATH.
    public init(dataDirectory: String, port: Int, binDirectory: String? = nil, logger: Logger) {
        precondition((1...65535).contains(port), "port \(port) out of range")
        self.dataDirectory = dataDirectory
        self.port = port
        self.clusterDirectory = dataDirectory + "/postgres"
        let preferredSocketDirectory = dataDirectory + "/postgres-socket"
        // A deep data directory would make the socket path too long for the kernel.
        if (preferredSocketDirectory + "/.s.PGSQL.\(port)").utf8.count <= Self.socketPathBytesMax {
            socketDirectory = preferredSocketDirectory
        } else {
            socketDirectory = "/tmp/agent-store-postgres-\(getuid())-\(port)"
        }
        self.binDirectoryOverride = binDirectory
        self.logger = logger.labeled("managed-postgres")
    }

    /// The URL that reaches the cluster over its unix socket.
    public var connectionURL: String {
        Self.url(socketDirectory: socketDirectory, port: port)
    }

    /// Creates the cluster on first run and starts it unless it is already running (for
    /// example left over from a crashed server, in which case it is reused). Returns the URL.
    public func start() async throws(BackendError) -> String {
        try await onQueue { () throws(BackendError) in try self.startOnQueue() }
    }

    /// Stops the cluster with a fast shutdown (active sessions are disconnected, committed data
    /// is kept). Stopping a cluster that is not running is not an error.
    public func stop() async throws(BackendError) {
        try await onQueue { () throws(BackendError) in try self.stopOnQueue() }
    }

    /// Whether pg_ctl reports the cluster as running.
    public func isRunning() async -> Bool {
        do {
            return try await onQueue { () throws(BackendError) in try self.statusOnQueue() != nil }
        } catch {
            logger.debug("status check failed", ["error": error])
            return false
        }
    }

    // MARK: - On the queue

    private func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws(BackendError) -> T) async throws(BackendError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, BackendError>, Never>) in
            queue.async {
                do throws(BackendError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func startOnQueue() throws(BackendError) -> String {
        let binDirectory = try findBinDirectory()
        try createDirectory(dataDirectory, mode: 0o755, ownedByDatabaseUser: false)
        try createDirectory(socketDirectory, mode: 0o700, ownedByDatabaseUser: true)
        if !FileManager.default.fileExists(atPath: clusterDirectory + "/PG_VERSION") {
            try createDirectory(clusterDirectory, mode: 0o700, ownedByDatabaseUser: true)
            logger.info("creating PostgreSQL cluster", ["directory": clusterDirectory])
            try run(binDirectory + "/initdb", ["-D", clusterDirectory, "-U", Self.databaseUser, "-A", "trust",
                                               "-E", "UTF8", "--locale=C"])
        }
        if let running = try statusOnQueue() {
            logger.info("PostgreSQL cluster already running; using it", ["directory": clusterDirectory, "port": running.port])
            return Self.url(socketDirectory: running.socketDirectory, port: running.port)
        }
        // pg_ctl hands -o to a shell, so the socket directory is quoted for it.
        let serverOptions = "-p \(port) -k \(Self.shellQuoted(socketDirectory)) -c listen_addresses=''"
        do {
            try run(binDirectory + "/pg_ctl", ["start", "-D", clusterDirectory, "-w", "-t", String(Self.startStopTimeoutSeconds),
                                               "-l", clusterDirectory + "/server.log", "-o", serverOptions])
        } catch {
            logger.error("PostgreSQL did not start", ["log": serverLogTail()])
            throw error
        }
        logger.info("PostgreSQL started", ["directory": clusterDirectory, "port": port])
        return connectionURL
    }

    private func stopOnQueue() throws(BackendError) {
        guard try statusOnQueue() != nil else { return }
        let binDirectory = try findBinDirectory()
        try run(binDirectory + "/pg_ctl", ["stop", "-D", clusterDirectory, "-m", "fast", "-w",
                                           "-t", String(Self.startStopTimeoutSeconds)])
        logger.info("PostgreSQL stopped", ["directory": clusterDirectory])
    }

    /// The running server's port and socket directory from postmaster.pid, or nil when pg_ctl
    /// says it is not running (a stale pid file from a crash counts as not running).
    private func statusOnQueue() throws(BackendError) -> (port: Int, socketDirectory: String)? {
        guard FileManager.default.fileExists(atPath: clusterDirectory + "/PG_VERSION") else { return nil }
        let binDirectory = try findBinDirectory()
        // Exit status 3 means "not running"; 0 means running.
        guard try run(binDirectory + "/pg_ctl", ["status", "-D", clusterDirectory], acceptedStatuses: [0, 3]) == 0 else {
            return nil
        }
        // postmaster.pid: pid, data directory, start time, port, socket directory, ...
        // Unreadable (the server may be just writing it): fall back to our own port and socket.
        let lines = (try? String(contentsOfFile: clusterDirectory + "/postmaster.pid", encoding: .utf8))? // See above: fallback.
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init) ?? []
        guard lines.count > 4, let runningPort = Int(lines[3].trimmingCharacters(in: .whitespaces)) else {
            return (port, socketDirectory)
        }
        let runningSocket = lines[4].trimmingCharacters(in: .whitespaces)
        return (runningPort, runningSocket.isEmpty ? socketDirectory : runningSocket)
    }

    private func findBinDirectory() throws(BackendError) -> String {
        if let binDirectoryOverride { return binDirectoryOverride }
        let root = "/usr/lib/postgresql"
        // No such directory just means no Debian-style install; PATH is searched next.
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []) // Missing = search PATH.
            .compactMap { name in Double(name).map { (version: $0, name: name) } }
            .sorted { $0.version > $1.version }
        for candidate in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(candidate.name)/bin/pg_ctl") {
            return "\(root)/\(candidate.name)/bin"
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/pg_ctl")
            && FileManager.default.isExecutableFile(atPath: "\(directory)/initdb") {
            return String(directory)
        }
        throw .unavailable(backend: Self.backendName, reason: "PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH",
                           outcomeUnknown: false)
    }

    /// initdb and the server refuse to run as root; then they run as the `postgres` user, who
    /// must own their directories.
    private var runsAsRoot: Bool { getuid() == 0 }

    private func createDirectory(_ path: String, mode: Int, ownedByDatabaseUser: Bool) throws(BackendError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: mode])
            if ownedByDatabaseUser && runsAsRoot {
                guard let account = getpwnam(Self.databaseUser) else {
                    throw BackendError.unavailable(backend: Self.backendName,
                                                   reason: "running as root needs a '\(Self.databaseUser)' user to own the cluster",
                                                   outcomeUnknown: false)
                }
                guard chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                    throw BackendError.unavailable(backend: Self.backendName,
                                                   reason: "chown \(path): \(String(cString: strerror(errno)))", outcomeUnknown: false)
                }
            }
        } catch let error as BackendError {
            throw error
        } catch {
            throw .unavailable(backend: Self.backendName, reason: "cannot create \(path): \(error)", outcomeUnknown: false)
        }
    }

    /// Runs a PostgreSQL tool (through runuser when root) and returns its exit status. Output goes
    /// to a temporary file, not a pipe, so a server that inherits descriptors cannot block us.
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit was seen
    /// to hang here after the child had exited (pg_ctl start leaves a daemon behind).
    @discardableResult
    private func run(_ executable: String, _ arguments: [String], acceptedStatuses: Set<Int32> = [0]) throws(BackendError) -> Int32 {
        let argv = runsAsRoot ? ["/usr/sbin/runuser", "-u", Self.databaseUser, "--", executable] + arguments
                              : [executable] + arguments
        let outputPath = NSTemporaryDirectory() + "agent-store-pg-\(UUID().uuidString).out"
        let outputDescriptor = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard outputDescriptor >= 0 else {
            throw .unavailable(backend: Self.backendName, reason: "cannot create \(outputPath): \(String(cString: strerror(errno)))",
                               outcomeUnknown: false)
        }
        defer {
            Glibc.close(outputDescriptor)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 2)
        var cArguments = argv.map { strdup($0) }
        cArguments.append(nil)
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawnResult = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawnResult == 0 else {
            throw .unavailable(backend: Self.backendName, reason: "cannot run \(argv[0]): \(String(cString: strerror(spawnResult)))",
                               outcomeUnknown: false)
        }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 {
            guard errno == EINTR else {
                throw .unavailable(backend: Self.backendName, reason: "waitpid: \(String(cString: strerror(errno)))", outcomeUnknown: false)
            }
        }
        // WIFEXITED/WEXITSTATUS are macros Swift does not import.
        let exited = waitStatus & 0x7f == 0
        let status: Int32 = exited ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)
        guard acceptedStatuses.contains(status) else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" // Best effort for the message.
            throw .unavailable(backend: Self.backendName,
                               reason: "\((executable as NSString).lastPathComponent) \(arguments.first ?? "") exited with \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))",
                               outcomeUnknown: false)
        }
        return status
    }

    private func serverLogTail() -> String {
        // Best effort: the log is only there to explain a failure already being reported.
        let log = (try? String(contentsOfFile: clusterDirectory + "/server.log", encoding: .utf8)) ?? "" // Best effort.
        return log.split(separator: "\n").suffix(10).joined(separator: " | ")
    }

    static func url(socketDirectory: String, port: Int) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let host = socketDirectory.addingPercentEncoding(withAllowedCharacters: allowed) ?? socketDirectory
        return "postgresql://\(databaseUser)@/postgres?host=\(host)&port=\(port)"
    }

    static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
