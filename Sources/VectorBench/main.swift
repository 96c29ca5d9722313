// Measures VectorIndex on real embeddings: build time, memory, recall@10 and queries/s by ef.
//
// swift run -c release vector-bench --data ../shared/data [--limit N] [--ef 10,20,40,80,160]
//   [--m 16] [--ef-construction 200] [--repeat-seconds 1] [--index-file PATH]
//   [--kernels portable,avx2] [--build-threads 1,2]
//
// --build-threads builds the index once per count given, inserting in batches of
// `buildBatchRows` as the server's loader does; searches are measured on the first build, and
// each other build reports its recall by ef, to show the graph is as good.
// --kernels picks the distance kernels whose searches are measured, comma-separated (default:
// every set this CPU runs, so the portable and AVX2 figures come from one run on one graph).
// --index-file loads the index from that snapshot when it exists (and skips the build figures),
// or builds and then saves it there: for repeating search measurements without a rebuild.

import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VectorIndex

struct Options {
    var dataDirectory = "../shared/data"
    var limit: Int?
    var searchWidths = [10, 20, 40, 80, 160]
    var maxNeighbors = 16
    var constructionSearchWidth = 200
    /// Each measurement repeats the query set until at least this long, to smooth out noise.
    var measureSeconds = 1.0
    var indexFile: String?
    var instructionSets = KernelInstructionSet.allCases.filter(\.isSupportedByHost)
    var buildThreads = [1, 2]

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fail("missing value after \(flag)") }
            switch flag {
            case "--data": dataDirectory = value
            case "--limit": limit = parse(value, flag)
            case "--ef": searchWidths = value.split(separator: ",").map { parse(String($0), flag) }
            case "--m": maxNeighbors = parse(value, flag)
            case "--ef-construction": constructionSearchWidth = parse(value, flag)
            case "--repeat-seconds": measureSeconds = parse(value, flag)
            case "--index-file": indexFile = value
            case "--build-threads": buildThreads = value.split(separator: ",").map { parse(String($0), flag) }
            case "--kernels":
                instructionSets = value.split(separator: ",").map { name in
                    guard let set = KernelInstructionSet(rawValue: String(name)), set.isSupportedByHost else {
                        fail("kernels \(name) unknown or not supported by this CPU")
                    }
                    return set
                }
            default: fail("unknown option \(flag)")
            }
        }
    }
}

func parse<Value: LosslessStringConvertible>(_ text: String, _ flag: String) -> Value {
    guard let value = Value(text) else { fail("bad value \(text) for \(flag)") }
    return value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vector-bench: \(message)\n".utf8))
    exit(2)
}

/// Rows of a `.fbin` (uint32 n, uint32 d, n·d float32) or `.ibin` (int32) file, little-endian.
func readMatrix<Element>(_ path: String, as type: Element.Type, rowsMax: Int? = nil) -> [[Element]] {
    guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else {
        fail("cannot read \(path)")
    }
    return data.withUnsafeBytes { raw in
        let rows = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        let columns = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard data.count == 8 + rows * columns * 4 else { fail("\(path): size does not match \(rows)x\(columns)") }
        let kept = min(rows, rowsMax ?? rows)
        return (0..<kept).map { row in
            (0..<columns).map { column in
                raw.loadUnaligned(fromByteOffset: 8 + (row * columns + column) * 4, as: Element.self)
            }
        }
    }
}

func residentBytes() -> Int {
    // Without /proc (not Linux) the memory column reads 0 rather than failing the benchmark.
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Int(line.split(separator: " ")[1])
    else { return 0 }  // Not Linux: memory column shows 0.
    return kilobytes * 1024
}

/// CPU time of the calling thread: unlike wall time it does not count time the machine's other
/// processes take, which on a shared 2-core machine is most of the noise.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// CPU time of every thread of this process, for builds on several threads.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Queries per CPU-second on the calling thread, over at least `measureSeconds` of CPU time.
func cpuThroughput(index: VectorIndex, queries: [[Float]], searchWidth: Int, measureSeconds: Double) -> Double {
    let start = threadCPUSeconds()
    var done = 0
    while threadCPUSeconds() - start < measureSeconds || done == 0 {
        for query in queries {
            // The query set is validated by the recall pass; a throw here cannot happen.
            _ = try! index.nearest(to: query, count: 10, searchWidth: searchWidth)
        }
        done += queries.count
    }
    return Double(done) / (threadCPUSeconds() - start)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let options = Options(arguments: CommandLine.arguments)
let base = readMatrix(options.dataDirectory + "/base.fbin", as: Float.self, rowsMax: options.limit)
let queries = readMatrix(options.dataDirectory + "/queries.fbin", as: Float.self)
let dimension = base[0].count
print("kernels: build uses \(KernelInstructionSet.host.rawValue); searches measured with \(options.instructionSets.map(\.rawValue).joined(separator: ", "))")
print("data: \(base.count) x \(dimension) base, \(queries.count) queries; M=\(options.maxNeighbors) efConstruction=\(options.constructionSearchWidth)")

let parameters = HNSWParameters(
    maxNeighbors: options.maxNeighbors, constructionSearchWidth: options.constructionSearchWidth)
/// Vectors per batch insert: the server's loader reads and inserts pages of 2,000 rows.
let buildBatchRows = 2_000

func buildIndex(threads: Int) throws -> VectorIndex {
    let index = try VectorIndex(dimension: dimension, metric: .innerProduct, parameters: parameters)
    let residentBefore = residentBytes()
    let cpuStart = processCPUSeconds()
    let buildTime = ContinuousClock().measure {
        for start in stride(from: 0, to: base.count, by: buildBatchRows) {
            let batch = (start..<min(start + buildBatchRows, base.count)).map { (id: UInt64($0), vector: base[$0]) }
            let refused = index.insert(contentsOf: batch, parallelism: threads)
            if let first = refused.first { fail("vector \(first.id) refused: \(first.error)") }
        }
    }
    let buildCPU = processCPUSeconds() - cpuStart
    let residentGrowth = residentBytes() - residentBefore
    print(String(format: "build, %d thread(s): %.2f s wall, %.2f s CPU (%.0f inserts/s), resident set growth %.1f MiB (vectors alone %.1f MiB)",
                 threads, seconds(buildTime), buildCPU, Double(base.count) / seconds(buildTime),
                 Double(residentGrowth) / 1_048_576, Double(base.count * dimension * 4) / 1_048_576))
    return index
}

let index: VectorIndex
if let path = options.indexFile, FileManager.default.fileExists(atPath: path) {
    index = try VectorIndex.load(snapshotAtPath: path)
    guard index.count == base.count, index.dimension == dimension else { fail("\(path) holds another data set") }
    print("build: skipped, index loaded from \(path)")
} else {
    guard let firstThreads = options.buildThreads.first else { fail("--build-threads needs a count") }
    index = try buildIndex(threads: firstThreads)
    if let path = options.indexFile { try index.writeSnapshot(toPath: path) }
}
let clock = ContinuousClock()

// Ground truth: the file's exact top-100 for the full base; our exact scan for a subset.
let truth: [[UInt64]]
if options.limit == nil || options.limit! >= 60_465 {
    truth = readMatrix(options.dataDirectory + "/queries.gt100.ibin", as: Int32.self).map { $0.prefix(10).map { UInt64($0) } }
} else {
    truth = try queries.map { try index.exactNearest(to: $0, count: 10).map(\.id) }
}
let exactTime = try clock.measure {
    for query in queries { _ = try index.exactNearest(to: query, count: 10) }
}
print(String(format: "exact scan: %.0f queries/s single-threaded", Double(queries.count) / seconds(exactTime)))

func recall(of index: VectorIndex, searchWidth: Int) throws -> Double {
    var found = 0
    for (position, query) in queries.enumerated() {
        let hits = Set(try index.nearest(to: query, count: 10, searchWidth: searchWidth).map(\.id))
        found += truth[position].filter { hits.contains($0) }.count
    }
    return Double(found) / Double(queries.count * 10)
}

if options.indexFile == nil {
    for threads in options.buildThreads.dropFirst() {
        let other = try buildIndex(threads: threads)
        let recalls = try options.searchWidths.map { String(format: "ef %d: %.4f", $0, try recall(of: other, searchWidth: $0)) }
        print("  recall@10 of that graph: \(recalls.joined(separator: ", "))")
    }
}

/// Runs every query `passes` times on `threads` threads; returns queries per second.
func throughput(index: VectorIndex, queries: [[Float]], searchWidth: Int, threads: Int, measureSeconds: Double)
    -> Double
{
    let clock = ContinuousClock()
    var passes = 1
    while true {
        let passesNow = passes
        let elapsed = clock.measure {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for _ in 0..<passesNow {
                    for position in stride(from: thread, to: queries.count, by: threads) {
                        // The query set is validated by the recall pass; a throw here cannot happen.
                        _ = try! index.nearest(to: queries[position], count: 10, searchWidth: searchWidth)
                    }
                }
            }
        }
        let time = seconds(elapsed)
        if time >= measureSeconds || passes >= 1_000 {
            return Double(passes * queries.count) / time
        }
        passes = max(passes * 2, Int(Double(passes) * measureSeconds / max(time, 1e-3) * 1.1))
    }
}

print("")
print("| kernels | ef | recall@10 | queries/CPU-s (1 thread) | queries/s (1 thread) | queries/s (2 threads) |")
print("|---|---:|---:|---:|---:|---:|")
let snapshot = index.snapshotData()
for instructionSet in options.instructionSets {
    // The same graph, loaded with each kernel set, so only the distance code differs.
    let measured = instructionSet == index.instructionSet
        ? index : try VectorIndex.load(snapshot: snapshot, instructionSet: instructionSet)
    for searchWidth in options.searchWidths {
        let measuredRecall = try recall(of: measured, searchWidth: searchWidth)
        let cpu = cpuThroughput(index: measured, queries: queries, searchWidth: searchWidth,
                                measureSeconds: options.measureSeconds)
        let single = throughput(index: measured, queries: queries, searchWidth: searchWidth, threads: 1,
                                measureSeconds: options.measureSeconds)
        let double = throughput(index: measured, queries: queries, searchWidth: searchWidth, threads: 2,
                                measureSeconds: options.measureSeconds)
        print(String(format: "| %@ | %d | %.4f | %.0f | %.0f | %.0f |", instructionSet.rawValue, searchWidth, measuredRecall,
                     cpu, single, double))
    }
}
