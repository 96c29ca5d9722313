// Starts a server in process on a free loopback port with test operations registered:
// echo (immediate), slow echo (deferred, waits the number of milliseconds in its body) and a
// streamed count.
import Foundation
import StoreServerCore
import WireProtocol

enum TestOpcode {
    static let echo = Opcode(rawValue: 0x7F01)
    static let slowEcho = Opcode(rawValue: 0x7F02)
    static let streamCount = Opcode(rawValue: 0x7F03)
}

struct CollectingSink: LogSink {
    func write(line: String) {}
}

func makeTestServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> Server {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.ioQueueCount = 2
    adjust(&configuration)
    var router = OperationRouter()
    router.register(TestOpcode.echo, .immediate { request in request.body })
    router.register(TestOpcode.slowEcho, .deferred { request, _ in
        var reader = ByteReader(request.body)
        let milliseconds = try reader.readUInt32()
        try await Task.sleep(for: .milliseconds(Int(milliseconds)))
        return request.body
    })
    router.register(TestOpcode.streamCount, .deferred { request, stream in
        var reader = ByteReader(request.body)
        let count = try reader.readUInt32()
        for index in 0..<count {
            var writer = ByteWriter()
            writer.writeUInt32(index)
            stream.sendPartial(writer.bytes)
        }
        var writer = ByteWriter()
        writer.writeUInt32(count)
        return writer.bytes
    })
    let level = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(LogLevel.init(name:))
    let logger = level.map { Logger(subsystem: "test-server", minimumLevel: $0) }
        ?? Logger(subsystem: "test-server", minimumLevel: .error, sink: CollectingSink())
    let server = Server(configuration: configuration, router: router, logger: logger)
    try server.start()
    return server
}

func slowEchoBody(milliseconds: UInt32, tag: UInt64 = 0) -> [UInt8] {
    var writer = ByteWriter()
    writer.writeUInt32(milliseconds)
    writer.writeUInt64(tag)
    return writer.bytes
}
