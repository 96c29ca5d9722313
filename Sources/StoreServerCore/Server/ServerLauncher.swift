// Composition for the store-server executable: configuration, backends, router, server, signal
// handling, in that order. Kept in the library (nonisolated) because dispatch source handlers
// created from MainActor code trap when they fire on another queue.
import Dispatch
import Foundation
import Glibc
import WireProtocol

public enum ServerLauncher {
    /// Runs the server until SIGTERM or SIGINT, then drains. Returns the process exit code.
    public static func run(arguments: [String], environment: [String: String]) async -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            FileHandle.standardError.write(Data(ConfigurationLoader.usage.utf8))
            return 0
        }
        let configuration: ServerConfiguration
        do {
            configuration = try ConfigurationLoader.load(arguments: arguments, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("store-server: \(error)\n".utf8))
            return 2
        }
        let logger = Logger(subsystem: "server", minimumLevel: configuration.logLevel)
        signal(SIGPIPE, SIG_IGN)
        let launcher: BackendLauncher
        do {
            launcher = try await BackendLauncher.start(configuration: configuration, logger: logger)
        } catch {
            logger.error("cannot start the backends", ["error": error])
            return 1
        }
        let router = DomainCatalogue.router(for: launcher.backends)
        let server = Server(configuration: configuration, router: router, healthSources: launcher.healthSources, logger: logger,
                            metrics: launcher.backends.metrics)
        do {
            try server.start()
        } catch {
            logger.error("cannot start", ["error": error])
            await launcher.stop()
            return 1
        }
        var statusServer: StatusHTTPServer?
        if let statusPort = configuration.statusPort {
            let pool = launcher.backends.postgres
            let metrics = MetricsSources(statistics: server.statistics, operations: server.metrics) {
                let statistics = pool.statistics
                return [("postgres_pool_open_connections", "PostgreSQL connections open.", Double(statistics.open)),
                        ("postgres_pool_in_use_connections", "PostgreSQL connections lent out.", Double(statistics.inUse)),
                        ("postgres_pool_waiters", "Callers waiting for a PostgreSQL connection.", Double(statistics.waiters))]
            }
            let status = StatusHTTPServer(health: { await server.health() }, metrics: metrics, logger: logger.labeled("http"))
            do {
                try status.start(host: configuration.statusHost, port: statusPort)
                statusServer = status
            } catch {
                logger.error("cannot start the status HTTP listener", ["error": error])
            }
        }
        await waitForTerminationSignal(logger: logger)
        statusServer?.stop()
        await server.shutdown()
        // Drained: no request is in flight, and PostgreSQL is still open for the domains' work.
        await launcher.backends.stopActions.run(logger: logger)
        await launcher.stop()
        return 0
    }

    private static func waitForTerminationSignal(logger: Logger) async {
        signal(SIGPIPE, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "store.signals")
            let fired = SignalOnce(continuation)
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { @Sendable in
                    logger.notice("received signal, shutting down", ["signal": signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"])
                    fired.resume()
                }
                source.activate()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

/// Resumes the continuation on the first signal only.
private final class SignalOnce: @unchecked Sendable {
    // Safe: touched only on the single signal queue.
    private var continuation: CheckedContinuation<Void, Never>?
    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }
    func resume() {
        continuation?.resume()
        continuation = nil
    }
}

/// Keeps the signal sources alive for the life of the process (a second signal during drain
/// must not fall back to the default action and kill the process mid-drain).
private enum SignalSources {
    nonisolated(unsafe) private static var retained: [DispatchSourceSignal] = []
    static func keep(_ sources: [DispatchSourceSignal]) { retained = sources }
}
