// Per-operation request counters, error counters and latency histograms, shared by every
// connection and exported in Prometheus text format. One small lock per record: a few hundred
// nanoseconds, far below the cost of the request it measures.
import Synchronization
import WireProtocol

public final class OperationMetrics: Sendable {
    /// Upper bounds of the latency buckets in seconds, from 50 µs to 10 s: covers an in-memory
    /// ping through a slow database call.
    public static let latencyBucketBoundsSeconds: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
    ]

    struct Series {
        var requests: UInt64 = 0
        var errorsByCode: [UInt16: UInt64] = [:]
        var bucketCounts = [UInt64](repeating: 0, count: OperationMetrics.latencyBucketBoundsSeconds.count + 1)
        var latencySumSeconds: Double = 0
    }

    private let series = Mutex<[UInt16: Series]>([:])
    private let counters = Mutex<[String: UInt64]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    /// A value read at scrape time from whoever registered it (an index's size...).
    public struct Gauge: Sendable {
        public let help: String
        public let read: @Sendable () -> Double
    }

    public init() {}

    /// Records one finished request; `error` is the code it failed with, if any.
    public func record(opcode: Opcode, latencyNanoseconds: UInt64, error: ErrorCode?) {
        let seconds = Double(latencyNanoseconds) / 1e9
        let bucket = Self.latencyBucketBoundsSeconds.firstIndex { seconds <= $0 } ?? Self.latencyBucketBoundsSeconds.count
        series.withLock { all in
            var entry = all[opcode.rawValue] ?? Series()
            entry.requests += 1
            entry.bucketCounts[bucket] += 1
            entry.latencySumSeconds += seconds
            if let error { entry.errorsByCode[error.rawValue, default: 0] += 1 }
            all[opcode.rawValue] = entry
        }
    }

    /// A named event counter for domains (for example "cache_hits_total").
    public func increment(_ name: String, by amount: UInt64 = 1) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    public func counter(_ name: String) -> UInt64 { counters.withLock { $0[name] ?? 0 } }

    /// Registers (or replaces) a gauge named `name`, exported as `agentstore_<name>`.
    public func registerGauge(_ name: String, help: String, read: @escaping @Sendable () -> Double) {
        gauges.withLock { $0[name] = Gauge(help: help, read: read) }
    }

    func gaugeValues() -> [(name: String, help: String, value: Double)] {
        gauges.withLock { $0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.help, $0.value.read()) }
    }

    func snapshot() -> (series: [UInt16: Series], counters: [String: UInt64]) {
        (series.withLock { $0 }, counters.withLock { $0 })
    }
}
