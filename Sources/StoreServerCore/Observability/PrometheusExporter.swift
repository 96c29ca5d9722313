// Renders the server's metrics in the Prometheus text exposition format (version 0.0.4).
import WireProtocol

public struct MetricsSources: Sendable {
    public let statistics: ServerStatistics
    public let operations: OperationMetrics
    /// Extra gauges from backends and domains (pool usage, index size...), read at scrape time.
    public let gauges: @Sendable () async -> [(name: String, help: String, value: Double)]

    public init(statistics: ServerStatistics, operations: OperationMetrics,
                gauges: @escaping @Sendable () async -> [(name: String, help: String, value: Double)] = { [] }) {
        self.statistics = statistics
        self.operations = operations
        self.gauges = gauges
    }
}

enum PrometheusExporter {
    static func render(_ sources: MetricsSources) async -> String {
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ value: Double) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) gauge")
            lines.append("\(name) \(format(value))")
        }
        gauge("agentstore_connections", "Open client connections.", Double(sources.statistics.connectionCount))
        gauge("agentstore_in_flight_requests", "Requests being handled.", Double(sources.statistics.inFlightCount))
        gauge("agentstore_uptime_seconds", "Seconds since the server started.", Double(sources.statistics.uptimeMilliseconds) / 1000)

        let (series, counters) = sources.operations.snapshot()
        let operations = series.keys.sorted()
        lines.append("# HELP agentstore_requests_total Requests answered, by operation.")
        lines.append("# TYPE agentstore_requests_total counter")
        for opcode in operations {
            lines.append("agentstore_requests_total{operation=\"\(Opcode(rawValue: opcode).name)\"} \(series[opcode]!.requests)")
        }
        lines.append("# HELP agentstore_request_errors_total Requests answered with an error, by operation and code.")
        lines.append("# TYPE agentstore_request_errors_total counter")
        for opcode in operations {
            for (code, count) in series[opcode]!.errorsByCode.sorted(by: { $0.key < $1.key }) {
                lines.append("agentstore_request_errors_total{operation=\"\(Opcode(rawValue: opcode).name)\",code=\"\(ErrorCode(rawValue: code).name)\"} \(count)")
            }
        }
        lines.append("# HELP agentstore_request_duration_seconds Time from a request's last byte to its final response.")
        lines.append("# TYPE agentstore_request_duration_seconds histogram")
        for opcode in operations {
            let entry = series[opcode]!
            let name = Opcode(rawValue: opcode).name
            var cumulative: UInt64 = 0
            for (index, bound) in OperationMetrics.latencyBucketBoundsSeconds.enumerated() {
                cumulative += entry.bucketCounts[index]
                lines.append("agentstore_request_duration_seconds_bucket{operation=\"\(name)\",le=\"\(format(bound))\"} \(cumulative)")
            }
            cumulative += entry.bucketCounts.last!
            lines.append("agentstore_request_duration_seconds_bucket{operation=\"\(name)\",le=\"+Inf\"} \(cumulative)")
            lines.append("agentstore_request_duration_seconds_sum{operation=\"\(name)\"} \(format(entry.latencySumSeconds))")
            lines.append("agentstore_request_duration_seconds_count{operation=\"\(name)\"} \(entry.requests)")
        }
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) {
            lines.append("# TYPE agentstore_\(name) counter")
            lines.append("agentstore_\(name) \(value)")
        }
        let hits = counters["cache_hits_total"] ?? 0
        let misses = counters["cache_misses_total"] ?? 0
        gauge("agentstore_cache_hit_ratio", "Cache hits / (hits + misses) since start.", hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses))
        for registered in sources.operations.gaugeValues() {
            gauge("agentstore_\(registered.name)", registered.help, registered.value)
        }
        for extra in await sources.gauges() { gauge("agentstore_\(extra.name)", extra.help, extra.value) }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
