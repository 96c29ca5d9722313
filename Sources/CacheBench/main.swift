// cache-bench: drives CACHE_GET, CACHE_SET or CONVERSATION_GET over N connections with a given
// pipeline depth for a fixed time and prints requests/s and latency percentiles, in the shape of
// redis-benchmark (one poll(2) event loop, every connection sends `pipeline` requests and waits
// for all their answers), so that its figures and redis-benchmark's can sit side by side.
// Used by benchmarks/cache_bench.sh.
import Foundation
import Glibc
import WireProtocol

struct BenchOptions {
    enum Operation: String { case get, set, conversation }

    var host = "127.0.0.1"
    var port: UInt16 = 7411
    var connections = 50
    var pipeline = 1
    var seconds = 5.0
    var warmupSeconds = 1.0
    var operation = Operation.get
    var valueBytes = 64
    /// Conversations created before a `conversation` run and read at random-ish positions.
    var conversations = 1000

    static func parse(_ arguments: [String]) -> BenchOptions {
        var options = BenchOptions()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--host": options.host = value()
            case "--port": options.port = UInt16(value()) ?? { fail("bad --port") }()
            case "-c", "--connections": options.connections = Int(value()) ?? { fail("bad -c") }()
            case "-P", "--pipeline": options.pipeline = Int(value()) ?? { fail("bad -P") }()
            case "--seconds": options.seconds = Double(value()) ?? { fail("bad --seconds") }()
            case "--warmup": options.warmupSeconds = Double(value()) ?? { fail("bad --warmup") }()
            case "--op": options.operation = Operation(rawValue: value()) ?? { fail("--op is get, set or conversation") }()
            case "-d", "--value-bytes": options.valueBytes = Int(value()) ?? { fail("bad -d") }()
            case "--conversations": options.conversations = Int(value()) ?? { fail("bad --conversations") }()
            case "--help", "-h":
                print("usage: cache-bench [--host H] [--port P] [-c N] [-P N] [--seconds S] [--warmup S] [--op get|set|conversation] [-d bytes] [--conversations N]")
                exit(0)
            default: fail("unknown option \(arguments[index])")
            }
            index += 1
        }
        guard options.connections > 0, options.pipeline > 0, options.seconds > 0, options.conversations > 0 else {
            fail("counts must be positive")
        }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cache-bench: \(message)\n".utf8))
    exit(2)
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum MonotonicNanoseconds {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// A blocking connection after the handshake, for setup calls (one request at a time).
struct BenchSocket {
    let descriptor: Int32
    var decoder = FrameDecoder(bodyBytesMax: 1 << 20)
    var nextID: UInt64 = 1
    private var readBuffer = [UInt8](repeating: 0, count: 256 << 10)

    init(host: String, port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw BenchError("--host must be an IPv4 address") }
        let descriptor = descriptor
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw BenchError("connect: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try send(Preface().encoded)
        let hello = try nextFrame()
        guard hello.opcode == .hello, !hello.flags.contains(.error) else { throw BenchError("handshake refused") }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw BenchError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    mutating func nextFrame() throws -> Frame {
        while true {
            if let frame = try decoder.nextFrame() { return frame }
            let count = Glibc.read(descriptor, &readBuffer, readBuffer.count)
            guard count > 0 else { throw BenchError("server closed the connection") }
            decoder.append(readBuffer[0..<count])
        }
    }

    mutating func call(_ opcode: Opcode, _ body: [UInt8]) throws -> [UInt8] {
        let id = nextID
        nextID += 1
        try send(Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: [], requestID: id),
                       body: body).encoded())
        let frame = try nextFrame()
        guard !frame.flags.contains(.error) else {
            throw BenchError("setup call failed: \((try? ErrorBody.decode(body: frame.body))?.description ?? "?")") // An undecodable error body still fails the run, with "?".
        }
        return frame.body
    }
}

/// One connection inside the event loop.
struct BenchConnection {
    var socket: BenchSocket
    var templates: [[UInt8]]
    var nextTemplate = 0
    var outstanding = 0
    var batchSentAt: UInt64 = 0
    var input: [UInt8] = []
    var inputStart = 0
}

/// Pre-encoded batches of `pipeline` requests; request ids are patched in before each send.
func batches(for options: BenchOptions, connection: Int, conversationIDs: [String]) -> [[UInt8]] {
    func batch(_ bodies: [(Opcode, [UInt8])]) -> [UInt8] {
        var writer = ByteWriter()
        for (opcode, body) in bodies {
            Frame(header: FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: [], requestID: 0), body: body)
                .append(to: &writer)
        }
        return writer.bytes
    }
    let key = Array("bench:key:\(connection % 100)".utf8)
    switch options.operation {
    case .get:
        return [batch(Array(repeating: (.cacheGet, CacheGetRequest(key: key).encodedBody), count: options.pipeline))]
    case .set:
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: options.valueBytes)
        let body = CacheSetRequest(key: key, value: value, timeToLiveMilliseconds: 600_000).encodedBody
        return [batch(Array(repeating: (.cacheSet, body), count: options.pipeline))]
    case .conversation:
        // Eight different batches per connection, spread over the ids.
        return (0..<8).map { round in
            batch((0..<options.pipeline).map { slot in
                let id = conversationIDs[(connection * 7919 + round * options.pipeline + slot) % conversationIDs.count]
                return (.conversationGet, IDRequest(id: id).encodedBody)
            })
        }
    }
}

final class BenchLoop: @unchecked Sendable {
    // Safe: used only by its own thread until the group is left.
    let options: BenchOptions
    let firstConnection: Int
    let connectionCount: Int
    let conversationIDs: [String]
    var latenciesNanoseconds: [UInt64] = []
    var error: String?
    private var readBuffer = [UInt8](repeating: 0, count: 256 << 10)

    init(options: BenchOptions, firstConnection: Int, connectionCount: Int, conversationIDs: [String]) {
        self.options = options
        self.firstConnection = firstConnection
        self.connectionCount = connectionCount
        self.conversationIDs = conversationIDs
    }

    func run(startMeasuring: UInt64, stopAt: UInt64) {
        var connections: [BenchConnection] = []
        do {
            for index in 0..<connectionCount {
                let number = firstConnection + index
                connections.append(BenchConnection(socket: try BenchSocket(host: options.host, port: options.port),
                                                   templates: batches(for: options, connection: number, conversationIDs: conversationIDs)))
            }
            latenciesNanoseconds.reserveCapacity(1 << 20)
            for index in connections.indices { try sendBatch(&connections[index]) }
            var pollSet = connections.map { pollfd(fd: $0.socket.descriptor, events: Int16(POLLIN), revents: 0) }
            var running = true
            while running {
                let ready = poll(&pollSet, nfds_t(pollSet.count), 1000)
                guard ready >= 0 || errno == EINTR else { throw BenchError("poll: \(String(cString: strerror(errno)))") }
                if MonotonicNanoseconds.now() >= stopAt { running = false }
                for index in pollSet.indices where pollSet[index].revents != 0 {
                    if try receive(&connections[index]) {
                        let doneAt = MonotonicNanoseconds.now()
                        let sentAt = connections[index].batchSentAt
                        if sentAt >= startMeasuring && sentAt < stopAt {
                            for _ in 0..<options.pipeline { latenciesNanoseconds.append(doneAt - sentAt) }
                        }
                        if running { try sendBatch(&connections[index]) }
                    }
                }
            }
        } catch {
            self.error = "\(error)"
        }
        for connection in connections { Glibc.close(connection.socket.descriptor) }
    }

    private func sendBatch(_ connection: inout BenchConnection) throws {
        let templateIndex = connection.nextTemplate
        connection.nextTemplate = (templateIndex + 1) % connection.templates.count
        // Every frame of a template has the same size: patch increasing ids into each header.
        let frameBytes = connection.templates[templateIndex].count / options.pipeline
        for slot in 0..<options.pipeline {
            var id = connection.socket.nextID.littleEndian
            connection.socket.nextID += 1
            withUnsafeBytes(of: &id) { raw in
                for byte in 0..<8 { connection.templates[templateIndex][slot * frameBytes + 8 + byte] = raw[byte] }
            }
        }
        connection.outstanding = options.pipeline
        connection.batchSentAt = MonotonicNanoseconds.now()
        try connection.socket.send(connection.templates[templateIndex])
    }

    /// Reads what is available; true when the whole batch has been answered.
    private func receive(_ connection: inout BenchConnection) throws -> Bool {
        let count = Glibc.read(connection.socket.descriptor, &readBuffer, readBuffer.count)
        guard count > 0 else { throw BenchError(count == 0 ? "server closed the connection" : "read: \(String(cString: strerror(errno)))") }
        connection.input.append(contentsOf: readBuffer[0..<count])
        while connection.input.count - connection.inputStart >= FrameHeader.byteCount {
            let base = connection.inputStart
            let bodyLength = Int(connection.input[base]) | Int(connection.input[base + 1]) << 8
                | Int(connection.input[base + 2]) << 16 | Int(connection.input[base + 3]) << 24
            let flags = UInt16(connection.input[base + 6]) | UInt16(connection.input[base + 7]) << 8
            guard connection.input.count - base >= FrameHeader.byteCount + bodyLength else { break }
            if flags & FrameFlags.error.rawValue != 0 {
                let body = Array(connection.input[(base + FrameHeader.byteCount)..<(base + FrameHeader.byteCount + bodyLength)])
                throw BenchError("server answered with an error: \((try? ErrorBody.decode(body: body))?.description ?? "?")") // Fails either way; the body only adds detail.
            }
            connection.inputStart += FrameHeader.byteCount + bodyLength
            connection.outstanding -= 1
        }
        if connection.inputStart == connection.input.count {
            connection.input.removeAll(keepingCapacity: true)
            connection.inputStart = 0
        }
        return connection.outstanding == 0
    }
}

func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1_000_000
}

let options = BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
var conversationIDs: [String] = []
do {
    var setup = try BenchSocket(host: options.host, port: options.port)
    switch options.operation {
    case .conversation:
        for index in 0..<options.conversations {
            let body = ConversationCreateRequest(title: "bench \(index)", userID: "bench",
                                                 metadata: ["index": .int(Int64(index)), "source": .string("cache-bench")]).encodedBody
            conversationIDs.append(try ConversationRecord.decode(body: try setup.call(.conversationCreate, body)).id)
        }
    case .get:
        // Something to find: the same keys and value size a set run writes.
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: options.valueBytes)
        for connection in 0..<min(100, options.connections) {
            _ = try setup.call(.cacheSet, CacheSetRequest(key: Array("bench:key:\(connection)".utf8), value: value,
                                                          timeToLiveMilliseconds: 600_000).encodedBody)
        }
    case .set:
        break
    }
    Glibc.close(setup.descriptor)
} catch {
    fail("setup: \(error)")
}

let threadCount = 1  // One event loop, like redis-benchmark.
let start = MonotonicNanoseconds.now()
let measureFrom = start + UInt64(options.warmupSeconds * 1e9)
let stopAt = measureFrom + UInt64(options.seconds * 1e9)
let loop = BenchLoop(options: options, firstConnection: 0, connectionCount: options.connections, conversationIDs: conversationIDs)
let group = DispatchGroup()
group.enter()
Thread {
    loop.run(startMeasuring: measureFrom, stopAt: stopAt)
    group.leave()
}.start()
group.wait()
if let error = loop.error { fail(error) }
let latencies = loop.latenciesNanoseconds.sorted()
print(String(format: "cache-bench %@: connections=%d pipeline=%d seconds=%.1f requests=%d",
             options.operation.rawValue, options.connections, options.pipeline, options.seconds, latencies.count))
print(String(format: "  throughput: %.0f requests/s", Double(latencies.count) / options.seconds))
print(String(format: "  latency ms: p50=%.3f p99=%.3f max=%.3f", percentile(latencies, 0.5), percentile(latencies, 0.99),
             percentile(latencies, 1.0)))
