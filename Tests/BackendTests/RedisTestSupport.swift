// Shared helpers for the Redis and cache tests: the test server's endpoint, per-test key
// prefixes, free ports, and a listener that never answers.
import Foundation
import XCTest
@testable import StoreServerCore
#if canImport(Glibc)
import Glibc
#endif

enum RedisTestSupport {
    /// The Redis started by scripts/with-backends.sh. Fails the test with a clear message when
    /// the variable is missing instead of silently skipping.
    static func endpoint(file: StaticString = #filePath, line: UInt = #line) throws -> RedisEndpoint {
        guard let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] else {
            XCTFail("TEST_REDIS_URL is not set; run: scripts/with-backends.sh swift test --filter BackendTests",
                    file: file, line: line)
            throw BackendError.invalidArgument(field: "TEST_REDIS_URL", reason: "missing")
        }
        return try RedisEndpoint(url: url)
    }

    static func pool(_ endpoint: RedisEndpoint, size: Int = 4) -> RedisPool {
        RedisPool(configuration: .init(endpoint: endpoint, size: size), logger: logger)
    }

    static let logger = Logger(subsystem: "test", minimumLevel: .warning)

    /// A key prefix no other test uses, so tests can run against one shared Redis.
    static func uniquePrefix(_ name: String = #function) -> String {
        "test:\(name.prefix { $0 != "(" }):\(UUID().uuidString.prefix(8)):"
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A loopback port nothing listens on right now (bound, read back, released).
    static func freePort() throws -> Int {
        let socket = try ListeningSocket(backlog: 0)
        defer { socket.close() }
        return socket.port
    }
}

/// A loopback TCP socket that listens but never accepts: connects succeed (the kernel completes
/// the handshake) and every command then waits forever for a reply.
final class ListeningSocket {
    let descriptor: Int32
    let port: Int

    init(backlog: Int32 = 16) throws {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, backlog) == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(descriptor) }
}
