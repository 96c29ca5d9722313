// memory-bench: loads memories into a running store-server, waits for it to be ready after a
// restart, checks that every acknowledged item is searchable, and measures end-to-end search
// (queries/s and recall@10) over the socket. Driven by scripts/bench-memories-restart.sh.
//
//   memory-bench load   --port P --start S --count N --acked FILE [--data DIR] [--concurrency C]
//   memory-bench ready  --port P --started-at-ms T [--timeout-seconds 900]
//   memory-bench verify --port P --acked FILE [--data DIR] [--concurrency C]
//   memory-bench query  --port P [--data DIR] [--concurrency C] [--rounds R] [--prefix bench,docs]
//
// Item i has key "item-i"; its vector is row i of DIR/base.fbin when present, else a seeded
// random vector, so `verify` can recompute it. Namespace ("bench", "docs") for base rows,
// ("bench", "noise") for random ones.

import Foundation
import StoreClient
import WireProtocol

let collection = "bench-minilm"
let dimension = 384
/// Puts per MEMORY_BATCH while loading: amortizes a round trip over many puts while keeping
/// one request's server time short.
let putsPerBatch = 50

struct Options {
    var command = ""
    var port: UInt16 = 7411
    var start = 0
    var count = 0
    var ackedPath = ""
    var dataDirectory = "../shared/data"
    var concurrency = 8
    var startedAtMilliseconds: Int64 = 0
    var timeoutSeconds = 900.0
    var rounds = 1
    /// Namespace prefix for `query` (comma-separated labels); empty = unrestricted.
    var prefix: [String] = []

    init(_ arguments: [String]) {
        guard arguments.count >= 2 else { fail("usage: memory-bench load|ready|verify|query [options]") }
        command = arguments[1]
        var iterator = arguments.dropFirst(2).makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fail("missing value after \(flag)") }
            switch flag {
            case "--port": port = parse(value, flag)
            case "--start": start = parse(value, flag)
            case "--count": count = parse(value, flag)
            case "--acked": ackedPath = value
            case "--data": dataDirectory = value
            case "--concurrency": concurrency = parse(value, flag)
            case "--started-at-ms": startedAtMilliseconds = parse(value, flag)
            case "--timeout-seconds": timeoutSeconds = parse(value, flag)
            case "--rounds": rounds = parse(value, flag)
            case "--prefix": prefix = value.split(separator: ",").map(String.init)
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
    FileHandle.standardError.write(Data("memory-bench: \(message)\n".utf8))
    exit(2)
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("memory-bench: \(message)\n".utf8))
}

func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Rows of an `.fbin`/`.ibin` file (uint32 n, uint32 d, then n·d 4-byte values, little-endian).
struct Matrix {
    let data: Data
    let rows: Int
    let columns: Int

    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else { return nil }
        let header = data.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
                                             $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
        rows = Int(UInt32(littleEndian: header.0))
        columns = Int(UInt32(littleEndian: header.1))
        guard data.count == 8 + rows * columns * 4 else { return nil }
        self.data = data
    }

    func floats(_ row: Int) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<columns).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 + (row * columns + $0) * 4, as: UInt32.self))) }
        }
    }

    func integers(_ row: Int) -> [Int] {
        data.withUnsafeBytes { raw in
            (0..<columns).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 8 + (row * columns + $0) * 4, as: Int32.self))) }
        }
    }
}

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

/// The vectors of item i: base rows first, then seeded random ones.
struct ItemVectors {
    let base: Matrix?

    init(dataDirectory: String) {
        base = Matrix(path: dataDirectory + "/base.fbin")
        if let base, base.columns != dimension { fail("base.fbin has \(base.columns) columns, expected \(dimension)") }
        log(base.map { "using \($0.rows) real embeddings from \(dataDirectory)/base.fbin, random vectors after" }
            ?? "no base.fbin: random vectors")
    }

    var baseCount: Int { base?.rows ?? 0 }

    func vector(_ index: Int) -> [Float] {
        if let base, index < base.rows { return base.floats(index) }
        var generator = SplitMix64(state: UInt64(index) &* 0x1234_5678_9ABC_DEF1)
        return (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    func namespace(_ index: Int) -> [String] { ["bench", index < baseCount ? "docs" : "noise"] }
}

func client(_ options: Options) -> StoreClient {
    StoreClient(configuration: ClientConfiguration(port: options.port, defaultTimeout: .seconds(300)))
}

// MARK: Commands

/// Puts items start..<start+count in batches over `concurrency` concurrent requests; appends
/// each acknowledged index to the acked file as soon as its batch answers. Stops at the first
/// failed request (the server was killed).
func load(_ options: Options) async {
    let vectors = ItemVectors(dataDirectory: options.dataDirectory)
    let store = client(options)
    do {
        try await store.ensureMemoryCollection(collection, dimension: dimension, metric: .cosine)
    } catch {
        fail("ensure collection: \(error)")
    }
    _ = FileManager.default.createFile(atPath: options.ackedPath, contents: nil)
    guard let acked = FileHandle(forWritingAtPath: options.ackedPath) else { fail("cannot write \(options.ackedPath)") }
    acked.seekToEndOfFile()
    let started = Date()
    let end = options.start + options.count
    let batches = stride(from: options.start, to: end, by: putsPerBatch).map { $0..<min($0 + putsPerBatch, end) }
    let next = Counter()
    let done = Counter()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<options.concurrency {
            group.addTask {
                while true {
                    let batchIndex = next.increment() - 1
                    guard batchIndex < batches.count else { return }
                    let range = batches[batchIndex]
                    let operations = range.map { index in
                        MemoryBatchOperation(.memoryPut, MemoryPutRequest(
                            namespace: vectors.namespace(index), key: "item-\(index)", value: #"{"index":\#(index)}"#,
                            collection: collection, vectors: [MemoryFieldVector(field: "text", vector: vectors.vector(index))]))
                    }
                    do {
                        let results = try await store.memoryBatch(operations)
                        var lines = ""
                        for (index, result) in zip(range, results) where result.isSuccess { lines += "\(index)\n" }
                        acked.write(Data(lines.utf8))
                        let total = done.add(results.filter(\.isSuccess).count)
                        if total / 10_000 != (total - range.count) / 10_000 {
                            log("loaded \(total) (\(Int(Double(total) / Date().timeIntervalSince(started)))/s)")
                        }
                    } catch {
                        log("stopping: batch at \(range.lowerBound) failed: \(error)")
                        next.set(batches.count)
                        return
                    }
                }
            }
        }
    }
    try? acked.synchronize() // Best effort: the file is read by the same machine's next step.
    let seconds = Date().timeIntervalSince(started)
    print("load: acknowledged \(done.value) items in \(String(format: "%.1f", seconds)) s (\(Int(Double(done.value) / seconds))/s)")
    await store.close()
}

/// Polls with a vector search until the server answers (the first search waits for the index
/// to load), and prints the time since `started-at-ms`.
func ready(_ options: Options) async {
    let deadline = Date().addingTimeInterval(options.timeoutSeconds)
    while Date() < deadline {
        let store = client(options)
        do {
            _ = try await store.searchMemories(MemorySearchRequest(namespacePrefix: ["bench"], collection: collection,
                                                                   query: [Float](repeating: 0.05, count: dimension), limit: 1))
            let elapsed = nowMilliseconds() - options.startedAtMilliseconds
            print("ready: \(elapsed) ms after start")
            await store.close()
            return
        } catch {
            log("not ready after \(nowMilliseconds() - options.startedAtMilliseconds) ms: \(error)")
            await store.close()
            try? await Task.sleep(for: .milliseconds(100)) // Not up yet; poll again.
        }
    }
    fail("server not ready within \(options.timeoutSeconds) s")
}

/// Every acknowledged item must come back in the top 10 of a search with its own vector.
func verify(_ options: Options) async {
    let vectors = ItemVectors(dataDirectory: options.dataDirectory)
    guard let text = try? String(contentsOfFile: options.ackedPath, encoding: .utf8) else { fail("cannot read \(options.ackedPath)") } // fail() names the file.
    let indexes = text.split(separator: "\n").compactMap { Int($0) }
    let store = client(options)
    let next = Counter()
    let missing = Counter()
    let missingExamples = Examples()
    let approximateMisses = Counter()
    let started = Date()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<options.concurrency {
            group.addTask {
                while true {
                    let position = next.increment() - 1
                    guard position < indexes.count else { return }
                    let index = indexes[position]
                    do {
                        let vector = vectors.vector(index)
                        let hits = try await store.searchMemories(MemorySearchRequest(
                            namespacePrefix: [], collection: collection, query: vector, limit: 10))
                        if hits.contains(where: { $0.item.key == "item-\(index)" }) { continue }
                        // Not in the approximate top 10 (an HNSW miss, or a duplicate vector
                        // crowding it out). A search filtered to this one item runs exactly: it
                        // finds the item if and only if the index holds its vector.
                        let exact = try await store.searchMemories(MemorySearchRequest(
                            namespacePrefix: vectors.namespace(index), filter: #"{"index":\#(index)}"#,
                            collection: collection, query: vector, limit: 1))
                        if exact.first?.item.key == "item-\(index)" {
                            _ = approximateMisses.increment()
                        } else {
                            _ = missing.increment()
                            missingExamples.add(index)
                        }
                    } catch {
                        _ = missing.increment()
                        missingExamples.add(index)
                    }
                }
            }
        }
    }
    let seconds = Date().timeIntervalSince(started)
    let inTopTen = indexes.count - missing.value - approximateMisses.value
    print("verify: \(indexes.count) acknowledged; \(inTopTen) in the top 10 of a search with their own vector, "
          + "\(approximateMisses.value) found only by the exact (filtered) search, \(missing.value) missing"
          + " (\(String(format: "%.1f", seconds)) s, \(Int(Double(indexes.count) / seconds)) searches/s)"
          + (missing.value > 0 ? " e.g. \(missingExamples.values)" : ""))
    await store.close()
    if missing.value > 0 { exit(1) }
}

/// queries.fbin against queries.gt100.ibin: recall@10 and queries/s, end to end.
func query(_ options: Options) async {
    guard let queries = Matrix(path: options.dataDirectory + "/queries.fbin"),
          let truth = Matrix(path: options.dataDirectory + "/queries.gt100.ibin") else {
        fail("needs queries.fbin and queries.gt100.ibin in \(options.dataDirectory)")
    }
    let store = client(options)
    let queryVectors = (0..<queries.rows).map { queries.floats($0) }
    let truths = (0..<truth.rows).map { Set(truth.integers($0).prefix(10).map { "item-\($0)" }) }
    let total = queries.rows * options.rounds
    let next = Counter()
    let hits = Counter()
    let started = Date()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<options.concurrency {
            group.addTask {
                while true {
                    let position = next.increment() - 1
                    guard position < total else { return }
                    let row = position % queries.rows
                    do {
                        let found = try await store.searchMemories(MemorySearchRequest(
                            namespacePrefix: options.prefix, collection: collection, query: queryVectors[row], limit: 10))
                        if position < queries.rows { _ = hits.add(found.filter { truths[row].contains($0.item.key) }.count) }
                    } catch {
                        fail("search failed: \(error)")
                    }
                }
            }
        }
    }
    let seconds = Date().timeIntervalSince(started)
    print("query: prefix \(options.prefix) concurrency \(options.concurrency): \(total) searches in \(String(format: "%.2f", seconds)) s = "
          + "\(Int(Double(total) / seconds)) queries/s, recall@10 \(String(format: "%.4f", Double(hits.value) / Double(queries.rows * 10)))")
    await store.close()
}

final class Counter: @unchecked Sendable {
    // @unchecked: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0
    func increment() -> Int { add(1) }
    func add(_ amount: Int) -> Int { lock.lock(); defer { lock.unlock() }; count += amount; return count }
    func set(_ value: Int) { lock.lock(); count = value; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class Examples: @unchecked Sendable {
    // @unchecked: `list` is only touched under `lock`.
    private let lock = NSLock()
    private var list: [Int] = []
    func add(_ value: Int) { lock.lock(); if list.count < 10 { list.append(value) }; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return list }
}

let options = Options(CommandLine.arguments)
switch options.command {
case "load": await load(options)
case "ready": await ready(options)
case "verify": await verify(options)
case "query": await query(options)
default: fail("unknown command \(options.command)")
}
