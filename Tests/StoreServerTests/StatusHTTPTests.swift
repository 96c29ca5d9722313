// The HTTP status listener: /health as JSON and /metrics in Prometheus text format, with
// per-operation counters and histograms that follow the requests actually served.
import XCTest
import Foundation
import Glibc
@testable import StoreServerCore
import StoreClient
import WireProtocol

final class StatusHTTPTests: XCTestCase {
    private func get(_ path: String, port: UInt16) throws -> (status: Int, body: String) {
        let connection = try RawConnection(port: port)
        try connection.write(Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(connection.descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let status = Int(parts[0].split(separator: " ")[1]) ?? 0
        return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    func testHealthAndMetricsFollowTheRequestsServed() async throws {
        let server = try makeTestServer()
        let status = StatusHTTPServer(health: { await server.health() },
                                      metrics: MetricsSources(statistics: server.statistics, operations: server.metrics) {
                                          [("test_gauge", "A gauge from a backend.", 7)]
                                      },
                                      logger: Logger(subsystem: "test", minimumLevel: .error, sink: CollectingSink()))
        let port = try status.start(host: "127.0.0.1", port: 0)
        defer { status.stop() }
        let connection = try RawConnection(port: server.port)
        try connection.handshake()
        for payload in 0..<5 { _ = try connection.request(.ping, body: PingMessage(payload: UInt64(payload)).encodedBody) }
        _ = try connection.request(Opcode(rawValue: 0x7777))
        _ = try connection.request(TestOpcode.slowEcho, body: slowEchoBody(milliseconds: 20))

        let health = try get("/health", port: port)
        XCTAssertEqual(health.status, 200)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any])
        XCTAssertEqual(json["status"] as? String, "up")
        XCTAssertEqual(json["version"] as? String, ServerVersion.current)
        XCTAssertEqual(json["connections"] as? Int, 1)

        let metrics = try get("/metrics", port: port)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.body.contains("agentstore_requests_total{operation=\"ping\"} 5"), metrics.body)
        XCTAssertTrue(metrics.body.contains("agentstore_request_errors_total{operation=\"0x7777\",code=\"unknown_opcode\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("agentstore_request_duration_seconds_count{operation=\"0x7f02\"} 1"), metrics.body)
        XCTAssertTrue(metrics.body.contains("agentstore_request_duration_seconds_bucket{operation=\"0x7f02\",le=\"0.01\"} 0"), metrics.body)
        XCTAssertTrue(metrics.body.contains("agentstore_connections 1"))
        XCTAssertTrue(metrics.body.contains("agentstore_test_gauge 7"), metrics.body)
        XCTAssertEqual(try get("/nope", port: port).status, 404)
        await server.shutdown()
    }

    func testCacheHitsAndMissesAreCounted() async throws {
        let server = try await BackendFixture.server()
        let backends = try await BackendFixture.backends()
        let client = StoreClient(configuration: ClientConfiguration(port: server.port))
        let key = Array("metrics-\(UUID().uuidString)".utf8)
        let hitsBefore = backends.metrics.counter("cache_hits_total")
        let missesBefore = backends.metrics.counter("cache_misses_total")
        _ = try await client.cacheGet(key)
        try await client.cacheSet(key, value: [1])
        _ = try await client.cacheGet(key)
        _ = try await client.cacheGet(key)
        // Other tests share these backends, so count at least our own operations.
        XCTAssertGreaterThanOrEqual(backends.metrics.counter("cache_hits_total") - hitsBefore, 2)
        XCTAssertGreaterThanOrEqual(backends.metrics.counter("cache_misses_total") - missesBefore, 1)
        let rendered = await PrometheusExporter.render(MetricsSources(statistics: server.statistics, operations: backends.metrics))
        XCTAssertTrue(rendered.contains("agentstore_cache_hits_total "), rendered)
        XCTAssertTrue(rendered.contains("agentstore_requests_total{operation=\"cache_get\"}"), rendered)
        XCTAssertTrue(rendered.contains("# TYPE agentstore_memory_index_vectors gauge"), rendered)
        await client.close()
        await server.shutdown()
    }
}
