// Shared helpers for the PostgreSQL tests: the database URL from the environment and unique names.
import Foundation
import StoreServerCore
import Synchronization
import XCTest

enum PostgresTestSupport {
    struct MissingDatabase: Error, CustomStringConvertible {
        var description: String {
            "TEST_DATABASE_URL is not set; run the tests through scripts/with-backends.sh"
        }
    }

    static func settings(file: StaticString = #filePath, line: UInt = #line) throws -> PostgresConnectionSettings {
        guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty else {
            XCTFail(MissingDatabase().description, file: file, line: line)
            throw MissingDatabase()
        }
        return try PostgresConnectionSettings(url: url)
    }

    /// A name no other test (or earlier run) uses, valid as an SQL identifier.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UInt32.random(in: 0...UInt32.max))_\(getpid())"
    }

    static let logger = Logger(subsystem: "postgres-test", minimumLevel: .warning)
}

/// Collects log lines so tests can check what was logged.
final class CollectingLogSink: LogSink {
    private let lines = Mutex<[String]>([])
    func write(line: String) { lines.withLock { $0.append(line) } }
    var collected: [String] { lines.withLock { $0 } }
}

/// Asserts that `body` throws a BackendError matching `matches`.
func assertBackendError(_ body: () async throws -> Void, _ matches: (BackendError) -> Bool,
                        file: StaticString = #filePath, line: UInt = #line) async {
    do {
        try await body()
        XCTFail("expected an error", file: file, line: line)
    } catch let error as BackendError {
        XCTAssertTrue(matches(error), "unexpected error \(error)", file: file, line: line)
    } catch {
        XCTFail("expected BackendError, got \(error)", file: file, line: line)
    }
}
