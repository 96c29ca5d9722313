// store-load: drives PING over N connections with a given pipeline depth for a fixed time and
// prints requests/s and latency percentiles, in the same shape as `redis-benchmark -t ping`.
// Each connection runs on its own thread with a plain blocking socket, so the figures measure
// the server rather than a client runtime.
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
            case "--help", "-h":
                print("usage: store-load [--host H] [--port P] [-c connections] [-P pipeline] [--seconds S] [--warmup S] [--token T]")
                exit(0)
            default: fail("unknown option \(arguments[index])")
            }
            index += 1
        }
        guard options.connections > 0, options.pipeline > 0, options.seconds > 0 else { fail("counts must be positive") }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("store-load: \(message)\n".utf8))
    exit(2)
}

/// One connection's worker: send `pipeline` pings, read as many responses, repeat.
final class PingWorker: @unchecked Sendable {
    // Safe: each worker's state is used only by its own thread until `finished` is signalled.
    let options: LoadOptions
    var latenciesNanoseconds: [UInt64] = []
    var error: String?
    private var descriptor: Int32 = -1
    private var decoder = FrameDecoder(bodyBytesMax: 1 << 20)
    private var buffer = [UInt8](repeating: 0, count: 256 << 10)

    init(options: LoadOptions) { self.options = options }

    func run(startMeasuring: UInt64, stopAt: UInt64) {
        do {
            try connect()
            var nextID: UInt64 = 1
            if let token = options.token {
                let frame = Frame(header: FrameHeader(bodyLength: 0, opcode: .auth, flags: [], requestID: nextID),
                                  body: AuthRequest(credential: Array(token.utf8)).encodedBody)
                nextID += 1
                try write(frame.encoded())
                guard !(try readFrame().flags.contains(.error)) else { throw LoadError("authentication failed") }
            }
            latenciesNanoseconds.reserveCapacity(1 << 20)
            var batch = ByteWriter(capacity: options.pipeline * 32)
            while true {
                let sentAt = MonotonicNanoseconds.now()
                if sentAt >= stopAt { break }
                batch = ByteWriter(capacity: options.pipeline * 32)
                for _ in 0..<options.pipeline {
                    Frame(header: FrameHeader(bodyLength: 8, opcode: .ping, flags: [], requestID: nextID),
                          body: PingMessage(payload: nextID).encodedBody).append(to: &batch)
                    nextID += 1
                }
                try write(batch.bytes)
                for _ in 0..<options.pipeline {
                    let frame = try readFrame()
                    guard frame.opcode == .ping, !frame.flags.contains(.error) else { throw LoadError("unexpected frame \(frame.header)") }
                    let now = MonotonicNanoseconds.now()
                    if sentAt >= startMeasuring { latenciesNanoseconds.append(now - sentAt) }
                }
            }
        } catch {
            self.error = "\(error)"
        }
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    private func connect() throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = options.port.bigEndian
        guard inet_pton(AF_INET, options.host, &address.sin_addr) == 1 else { throw LoadError("--host must be an IPv4 address") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw LoadError("connect: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try write(Preface().encoded)
        let hello = try readFrame()
        guard hello.opcode == .hello, !hello.flags.contains(.error) else { throw LoadError("handshake refused") }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw LoadError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    private func readFrame() throws -> Frame {
        while true {
            if let frame = try decoder.nextFrame() { return frame }
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            guard count > 0 else { throw LoadError(count == 0 ? "server closed the connection" : "read: \(String(cString: strerror(errno)))") }
            decoder.append(buffer[0..<count])
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
let start = MonotonicNanoseconds.now()
let measureFrom = start + UInt64(options.warmupSeconds * 1e9)
let stopAt = measureFrom + UInt64(options.seconds * 1e9)
let workers = (0..<options.connections).map { _ in PingWorker(options: options) }
let group = DispatchGroup()
for worker in workers {
    group.enter()
    let thread = Thread {
        worker.run(startMeasuring: measureFrom, stopAt: stopAt)
        group.leave()
    }
    thread.stackSize = 1 << 20
    thread.start()
}
group.wait()
if let error = workers.compactMap(\.error).first { fail(error) }
let latencies = workers.flatMap(\.latenciesNanoseconds).sorted()
let throughput = Double(latencies.count) / options.seconds
print(String(format: "store-load ping: connections=%d pipeline=%d seconds=%.1f requests=%d",
             options.connections, options.pipeline, options.seconds, latencies.count))
print(String(format: "  throughput: %.0f requests/s", throughput))
print(String(format: "  latency ms: p50=%.3f p99=%.3f p999=%.3f max=%.3f", percentile(latencies, 0.5),
             percentile(latencies, 0.99), percentile(latencies, 0.999), percentile(latencies, 1.0)))
