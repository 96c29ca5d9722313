// store-load: drives one workload (Workload.swift: PING, HEALTH, CACHE_GET, CACHE_SET,
// CONVERSATION_GET, or the mixed agent workload) over N connections with a given pipeline depth
// for a fixed time and prints requests/s and latency percentiles, in the same shape as
// `redis-benchmark`. Raw workloads run in poll(2) event loops with plain blocking sockets, so the
// figures measure the server rather than a client runtime.
import Foundation
import Glibc
import WireProtocol

struct LoadOptions {
    var host = "127.0.0.1"
    var port: UInt16 = 7411
    var connections = 50
    var pipeline = 16
    var seconds = 5.0
    var warmupSeconds = 1.0
    var token: String?
    /// Event-loop threads; 1 matches redis-benchmark's single-threaded client.
    var threads = 1
    var workload = Workload.ping
    /// Value size of the cache workloads.
    var valueBytes = 64
    /// Conversations created before a conversation-get run and read in rotation.
    var conversations = 1000

    static func parse(_ arguments: [String]) -> LoadOptions {
        var options = LoadOptions()
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
            case "--connections", "-c": options.connections = Int(value()) ?? { fail("bad --connections") }()
            case "--pipeline", "-P": options.pipeline = Int(value()) ?? { fail("bad --pipeline") }()
            case "--seconds": options.seconds = Double(value()) ?? { fail("bad --seconds") }()
            case "--warmup": options.warmupSeconds = Double(value()) ?? { fail("bad --warmup") }()
            case "--token": options.token = value()
            case "--workload":
                let names = Workload.allCases.map(\.rawValue).joined(separator: ", ")
                options.workload = Workload(rawValue: value()) ?? { fail("--workload is one of \(names)") }()
            case "--value-bytes", "-d": options.valueBytes = Int(value()) ?? { fail("bad --value-bytes") }()
            case "--conversations": options.conversations = Int(value()) ?? { fail("bad --conversations") }()
            case "--threads": options.threads = Int(value()) ?? { fail("bad --threads") }()
            case "--help", "-h":
                print("usage: store-load [--host H] [--port P] [-c connections] [-P pipeline] [--seconds S] [--warmup S] [--token T] [--threads N] [--workload ping|health|mixed|cache-get|cache-set|conversation-get] [-d value-bytes] [--conversations N]")
                exit(0)
            default: fail("unknown option \(arguments[index])")
            }
            index += 1
        }
        guard options.connections > 0, options.pipeline > 0, options.seconds > 0, options.conversations > 0 else {
            fail("counts must be positive")
        }
        guard options.valueBytes >= 0 else { fail("--value-bytes must not be negative") }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("store-load: \(message)\n".utf8))
    exit(2)
}

/// One connection's state inside an event loop: send a batch of `pipeline` requests, wait for all
/// of their responses, repeat with the next batch.
struct LoadConnection {
    var descriptor: Int32 = -1
    var batches: [RequestBatch] = []
    var nextBatch = 0
    var outstanding = 0
    var batchSentAt: UInt64 = 0
    var nextID: UInt64 = 1
    var input: [UInt8] = []
    var inputStart = 0
}

/// An event loop over a share of the connections, on one thread with poll(2): the shape of
/// redis-benchmark, so that neither side pays for a thread per connection.
final class LoadLoop: @unchecked Sendable {
    // Safe: used only by its own thread until the group is left.
    let options: LoadOptions
    /// Per connection of this loop, the batches it sends in turn.
    let batchesPerConnection: [[RequestBatch]]
    var latenciesNanoseconds: [UInt64] = []
    var error: String?
    private var readBuffer = [UInt8](repeating: 0, count: 256 << 10)

    init(options: LoadOptions, batchesPerConnection: [[RequestBatch]]) {
        self.options = options
        self.batchesPerConnection = batchesPerConnection
    }

    func run(startMeasuring: UInt64, stopAt: UInt64) {
        var connections: [LoadConnection] = []
        do {
            for batches in batchesPerConnection {
                var connection = try open()
                connection.batches = batches
                connections.append(connection)
            }
            latenciesNanoseconds.reserveCapacity(1 << 20)
            for index in connections.indices { try sendBatch(&connections[index]) }
            var pollSet = connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            var running = true
            while running {
                let ready = poll(&pollSet, nfds_t(pollSet.count), 1000)
                guard ready >= 0 || errno == EINTR else { throw LoadError("poll: \(String(cString: strerror(errno)))") }
                let now = MonotonicNanoseconds.now()
                if now >= stopAt { running = false }
                for index in pollSet.indices where pollSet[index].revents != 0 {
                    let finished = try receive(&connections[index])
                    if finished {
                        let doneAt = MonotonicNanoseconds.now()
                        if connections[index].batchSentAt >= startMeasuring && connections[index].batchSentAt < stopAt {
                            let latency = doneAt - connections[index].batchSentAt
                            for _ in 0..<options.pipeline { latenciesNanoseconds.append(latency) }
                        }
                        if running { try sendBatch(&connections[index]) }
                    }
                }
            }
        } catch {
            self.error = "\(error)"
        }
        for connection in connections where connection.descriptor >= 0 { Glibc.close(connection.descriptor) }
    }

    private func open() throws -> LoadConnection {
        var connection = LoadConnection()
        connection.descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = options.port.bigEndian
        guard inet_pton(AF_INET, options.host, &address.sin_addr) == 1 else { throw LoadError("--host must be an IPv4 address") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(connection.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw LoadError("connect: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(connection.descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try write(Preface().encoded, to: connection.descriptor)
        var decoder = FrameDecoder(bodyBytesMax: 1 << 20)
        var hello: Frame?
        while hello == nil {
            let count = Glibc.read(connection.descriptor, &readBuffer, readBuffer.count)
            guard count > 0 else { throw LoadError("handshake: server closed the connection") }
            decoder.append(readBuffer[0..<count])
            hello = try decoder.nextFrame()
        }
        guard hello?.opcode == .hello, hello?.flags.contains(.error) == false else { throw LoadError("handshake refused") }
        if let token = options.token {
            let frame = Frame(header: FrameHeader(bodyLength: 0, opcode: .auth, flags: [], requestID: connection.nextID),
                              body: AuthRequest(credential: Array(token.utf8)).encodedBody)
            connection.nextID += 1
            try write(frame.encoded(), to: connection.descriptor)
            var answer: Frame?
            while answer == nil {
                let count = Glibc.read(connection.descriptor, &readBuffer, readBuffer.count)
                guard count > 0 else { throw LoadError("auth: server closed the connection") }
                decoder.append(readBuffer[0..<count])
                answer = try decoder.nextFrame()
            }
            guard answer?.flags.contains(.error) == false else { throw LoadError("authentication failed") }
        }
        return connection
    }

    private func sendBatch(_ connection: inout LoadConnection) throws {
        let batchIndex = connection.nextBatch
        connection.nextBatch = (batchIndex + 1) % connection.batches.count
        connection.batches[batchIndex].assignRequestIDs(from: connection.nextID)
        let frameCount = connection.batches[batchIndex].frameCount
        connection.nextID += UInt64(frameCount)
        connection.outstanding = frameCount
        connection.batchSentAt = MonotonicNanoseconds.now()
        try write(connection.batches[batchIndex].bytes, to: connection.descriptor)
    }

    /// Reads what is available; returns true when the whole batch has been answered.
    private func receive(_ connection: inout LoadConnection) throws -> Bool {
        let count = Glibc.read(connection.descriptor, &readBuffer, readBuffer.count)
        guard count > 0 else { throw LoadError(count == 0 ? "server closed the connection" : "read: \(String(cString: strerror(errno)))") }
        connection.input.append(contentsOf: readBuffer[0..<count])
        while connection.input.count - connection.inputStart >= FrameHeader.byteCount {
            let base = connection.inputStart
            let bodyLength = Int(connection.input[base]) | Int(connection.input[base + 1]) << 8
                | Int(connection.input[base + 2]) << 16 | Int(connection.input[base + 3]) << 24
            let flags = UInt16(connection.input[base + 6]) | UInt16(connection.input[base + 7]) << 8
            guard connection.input.count - base >= FrameHeader.byteCount + bodyLength else { break }
            if flags & FrameFlags.error.rawValue != 0 {
                let body = Array(connection.input[(base + FrameHeader.byteCount)..<(base + FrameHeader.byteCount + bodyLength)])
                let detail = (try? ErrorBody.decode(body: body))?.description ?? "?"  // detail only: the run fails either way
                throw LoadError("server answered with an error: \(detail)")
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

    private func write(_ bytes: [UInt8], to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw LoadError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }
}

struct LoadError: Error, CustomStringConvertible {
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

func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))
    return Double(sorted[index]) / 1_000_000
}

let options = LoadOptions.parse(Array(CommandLine.arguments.dropFirst()))
if options.workload == .mixed {
    do {
        try await MixedWorkload(options: options).run()
        exit(0)
    } catch {
        fail("\(error)")
    }
}
let conversationIDs: [String]
do {
    conversationIDs = try await options.workload.prepare(options)
} catch {
    fail("setup: \(error)")
}
let start = MonotonicNanoseconds.now()
let measureFrom = start + UInt64(options.warmupSeconds * 1e9)
let stopAt = measureFrom + UInt64(options.seconds * 1e9)
let threadCount = max(1, min(options.threads, options.connections))
// Connection numbers are dealt round-robin to the threads.
let workers = (0..<threadCount).map { thread in
    LoadLoop(options: options, batchesPerConnection: stride(from: thread, to: options.connections, by: threadCount).map {
        options.workload.batches(options, connection: $0, conversationIDs: conversationIDs)
    })
}
let group = DispatchGroup()
for worker in workers {
    group.enter()
    let thread = Thread {
        worker.run(startMeasuring: measureFrom, stopAt: stopAt)
        group.leave()
    }
    thread.start()
}
group.wait()
if let error = workers.compactMap(\.error).first { fail(error) }
let latencies = workers.flatMap(\.latenciesNanoseconds).sorted()
let throughput = Double(latencies.count) / options.seconds
print(String(format: "store-load \(options.workload.rawValue): connections=%d pipeline=%d seconds=%.1f requests=%d",
             options.connections, options.pipeline, options.seconds, latencies.count))
print(String(format: "  throughput: %.0f requests/s", throughput))
print(String(format: "  latency ms: p50=%.3f p99=%.3f p999=%.3f max=%.3f", percentile(latencies, 0.5),
             percentile(latencies, 0.99), percentile(latencies, 0.999), percentile(latencies, 1.0)))
