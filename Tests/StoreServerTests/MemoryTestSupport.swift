// Memories test helpers: a server with its own memories domain instance over the shared test
// PostgreSQL, a client, unique names, and exact rankings to compare the index against.
import Foundation
import Synchronization
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

/// Keeps the lines a server logs so tests can check what it did (loaded or rebuilt).
final class LineCollectingSink: LogSink {
    private let lines = Mutex<[String]>([])
    func write(line: String) { lines.withLock { $0.append(line) } }
    var collected: [String] { lines.withLock { $0 } }
}

struct MemoryTestServer {
    let server: Server
    let client: StoreClient
    let log: LineCollectingSink
    /// The domain's clean-stop work (the final snapshot), run by `stopCleanly()` only, so
    /// `stop()` still leaves the index as a crash would.
    let stopActions: StopActions
    /// The gauges and counters the domain registered.
    let metrics: OperationMetrics

    /// A fresh domain instance (its own index, loaded from PostgreSQL) behind a new server.
    static func start(_ adjust: (inout MemoryConfiguration) -> Void = { _ in }) async throws -> MemoryTestServer {
        let shared = try await BackendFixture.backends()
        let log = LineCollectingSink()
        let backends = Backends(postgres: shared.postgres, cache: shared.cache, configuration: shared.configuration,
                                logger: Logger(subsystem: "memory-test", minimumLevel: .info, sink: log))
        let stopActions = backends.stopActions
        var memoryConfiguration = MemoryConfiguration(snapshotDirectory: nil)
        adjust(&memoryConfiguration)
        var router = OperationRouter()
        MemoryDomain.domain(configuration: memoryConfiguration).register(&router, backends)
        var configuration = backends.configuration
        configuration.port = 0
        let server = Server(configuration: configuration, router: router, healthSources: [], logger: backends.logger)
        _ = try server.start()
        let client = StoreClient(configuration: ClientConfiguration(port: server.port))
        return MemoryTestServer(server: server, client: client, log: log, stopActions: stopActions,
                                metrics: backends.metrics)
    }

    /// Waits for the index to be loaded (the background task starts loading at once).
    func waitUntilReady() async throws {
        for _ in 0..<400 {
            if log.collected.contains(where: { $0.contains("memory index ready") }) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        XCTFail("memory index not ready")
    }

    func stop() async {
        await client.close()
        await server.shutdown()
    }

    /// Drains, then runs the stop actions, as the server does on SIGTERM.
    func stopCleanly() async {
        await client.close()
        await server.shutdown()
        await stopActions.run(logger: Logger(subsystem: "memory-test", minimumLevel: .info, sink: log))
    }
}

enum MemoryTestData {
    /// A namespace root no other test uses.
    static func uniqueRoot() -> String { "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased() }

    static func randomVector(dimension: Int, using generator: inout some RandomNumberGenerator) -> [Float] {
        (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for index in a.indices {
            dot += Double(a[index]) * Double(b[index])
            na += Double(a[index]) * Double(a[index])
            nb += Double(b[index]) * Double(b[index])
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// Parsed JSON objects compare equal regardless of jsonb's spacing and key order.
    static func json(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }
}

/// Deterministic generator so a failing ranking can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func XCTAssertServerError(_ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () async throws -> Void) async {
    do {
        try await body()
        XCTFail("expected \(code.name)", file: file, line: line)
    } catch let StoreClientError.server(error) {
        XCTAssertEqual(error.code, code, "\(error.message)", file: file, line: line)
    } catch {
        XCTFail("expected \(code.name), got \(error)", file: file, line: line)
    }
}
