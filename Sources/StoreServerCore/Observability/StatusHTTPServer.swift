// A minimal HTTP/1.1 listener on its own port for orchestrators and Prometheus: GET /health
// (JSON) and GET /metrics (text format). Off unless a port is configured; loopback by default.
// It answers one request per connection and closes, which is all probes and scrapers need.
import Dispatch
import Foundation
import Glibc
import WireProtocol

public final class StatusHTTPServer: Sendable {
    /// Bytes of request head accepted; a probe's request is a few hundred bytes.
    static let requestHeadBytesMax = 8 << 10
    /// A client must send its request head within this time.
    static let requestTimeoutSeconds = 5

    private let listener: Listener
    private let health: @Sendable () async -> HealthResponse
    private let metrics: MetricsSources
    private let logger: Logger
    private let workQueue = DispatchQueue(label: "store.http", attributes: .concurrent)

    public init(health: @escaping @Sendable () async -> HealthResponse, metrics: MetricsSources, logger: Logger) {
        self.health = health
        self.metrics = metrics
        self.logger = logger
        let box = WeakStatusBox()
        listener = Listener(logger: logger) { descriptor, _ in box.server?.accepted(descriptor) }
        box.server = self
    }

    @discardableResult
    public func start(host: String, port: UInt16) throws -> UInt16 {
        let bound = try listener.start(host: host, port: port)
        logger.notice("status HTTP listening", ["host": host, "port": bound])
        return bound
    }

    public func stop() { listener.stop() }

    private func accepted(_ descriptor: Int32) {
        workQueue.async { self.serve(descriptor) }
    }

    private func serve(_ descriptor: Int32) {
        defer { Glibc.close(descriptor) }
        // Blocking reads with a timeout on this worker thread: simple, and bounded.
        let flags = fcntl(descriptor, F_GETFL, 0)
        _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: Self.requestTimeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !head.containsHeadTerminator {
            guard head.count < Self.requestHeadBytesMax else { return respond(descriptor, 431, "text/plain", "request head too large\n") }
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return }
            head.append(contentsOf: buffer[0..<count])
        }
        let requestLine = String(decoding: head.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self).split(separator: " ")
        guard requestLine.count >= 2, requestLine[0] == "GET" else {
            return respond(descriptor, 405, "text/plain", "only GET is supported\n")
        }
        let path = requestLine[1].split(separator: "?").first.map(String.init) ?? ""
        let body: (status: Int, type: String, text: String) = waitFor {
            switch path {
            case "/health":
                let report = await self.health()
                return (report.status == .down ? 503 : 200, "application/json", Self.json(report))
            case "/metrics":
                return (200, "text/plain; version=0.0.4", await PrometheusExporter.render(self.metrics))
            default:
                return (404, "text/plain", "not found; try /health or /metrics\n")
            }
        }
        respond(descriptor, body.status, body.type, body.text)
    }

    /// Runs async work from this dispatch worker thread (not the cooperative pool, so waiting
    /// here cannot starve the tasks it waits for).
    private func waitFor<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        let semaphore = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            result.value = await work()
            semaphore.signal()
        }
        semaphore.wait()
        return result.value!
    }

    private func respond(_ descriptor: Int32, _ status: Int, _ type: String, _ text: String) {
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
                      503: "Service Unavailable"][status] ?? "Error"
        let body = Array(text.utf8)
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    static func json(_ report: HealthResponse) -> String {
        let backends = report.backends.map { backend -> [String: Any] in
            ["name": backend.name, "state": backend.state.name, "detail": backend.detail]
        }
        let object: [String: Any] = [
            "status": report.status.name, "version": report.serverVersion, "protocol_version": Int(report.protocolVersion),
            "uptime_ms": Int(report.uptimeMilliseconds), "connections": Int(report.connectionCount),
            "in_flight": Int(report.inFlightCount), "backends": backends,
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self) + "\n"
        } catch {
            return "{\"status\":\"\(report.status.name)\"}\n"
        }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    // Safe: written once by the task before the semaphore is signalled, read after the wait.
    var value: T?
}

private final class WeakStatusBox: @unchecked Sendable {
    // Safe: written once during init before the listener starts.
    weak var server: StatusHTTPServer?
}

private extension Array where Element == UInt8 {
    var containsHeadTerminator: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
