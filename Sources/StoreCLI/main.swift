// store-cli: a command-line client in the style of redis-cli. One command per invocation;
// output for people on stdout, errors on stderr, and an exit code that says what went wrong.
import Foundation
import StoreClient
import WireProtocol

enum ExitCode: Int32 {
    case success = 0
    /// The server answered with an error (not found, invalid argument, ...).
    case serverError = 1
    /// The command line was wrong.
    case usage = 2
    /// The server could not be reached or the connection broke.
    case connection = 3
}

struct CLIUsageError: Error, CustomStringConvertible {
    let description: String
}

struct CommandLineOptions {
    var host = ProcessInfo.processInfo.environment["STORE_HOST"] ?? "127.0.0.1"
    var port: UInt16 = ProcessInfo.processInfo.environment["STORE_PORT"].flatMap(UInt16.init) ?? 7411
    var token = ProcessInfo.processInfo.environment["STORE_TOKEN"]
    var timeout: Duration = .seconds(10)
    var command: [String] = []

    static func parse(_ arguments: [String]) throws -> CommandLineOptions {
        var options = CommandLineOptions()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            func value() throws -> String {
                index += 1
                guard index < arguments.count else { throw CLIUsageError(description: "\(argument) needs a value") }
                return arguments[index]
            }
            switch argument {
            case "-h", "--host": options.host = try value()
            case "-p", "--port":
                guard let port = UInt16(try value()) else { throw CLIUsageError(description: "--port must be 0-65535") }
                options.port = port
            case "-a", "--token": options.token = try value()
            case "-t", "--timeout":
                guard let seconds = Double(try value()), seconds > 0 else { throw CLIUsageError(description: "--timeout must be seconds > 0") }
                options.timeout = .milliseconds(Int(seconds * 1000))
            case "--help": options.command = ["help"]; return options
            default:
                options.command = Array(arguments[index...])
                return options
            }
            index += 1
        }
        return options
    }
}

let usage = """
usage: store-cli [-h host] [-p port] [-a token] [-t timeout-seconds] COMMAND [ARGS]
   (STORE_HOST, STORE_PORT and STORE_TOKEN are read from the environment too)

commands:
  ping                                  round trip time
  health                                server status and each backend
  stats                                 uptime, connections, requests in flight
""" + "\n" + domainUsage

func run(_ options: CommandLineOptions, client: StoreClient) async throws {
    guard let name = options.command.first else { throw CLIUsageError(description: "no command given") }
    let arguments = Array(options.command.dropFirst())
    switch name {
    case "ping":
        let roundTrip = try await client.ping(timeout: options.timeout)
        print("PONG \(formatMilliseconds(roundTrip)) ms")
    case "health":
        let health = try await client.health(timeout: options.timeout)
        print("status: \(health.status.name)  version: \(health.serverVersion)  protocol: \(health.protocolVersion)")
        for backend in health.backends {
            print("  \(backend.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(backend.state.name)\(backend.detail.isEmpty ? "" : "  (\(backend.detail))")")
        }
        if health.status == .down { throw CLIServerStatusDown() }
    case "stats":
        let health = try await client.health(timeout: options.timeout)
        print("uptime_seconds: \(health.uptimeMilliseconds / 1000)")
        print("connections: \(health.connectionCount)")
        print("in_flight: \(health.inFlightCount)")
    default:
        try await runDomainCommand(name, arguments, options: options, client: client)
    }
}

struct CLIServerStatusDown: Error {}

func formatMilliseconds(_ duration: Duration) -> String {
    let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(format: "%.3f", milliseconds)
}

func fail(_ message: String, _ code: ExitCode) -> Never {
    FileHandle.standardError.write(Data("store-cli: \(message)\n".utf8))
    exit(code.rawValue)
}

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error)\n\(usage)", .usage)
}
if options.command.isEmpty || options.command == ["help"] {
    print(usage)
    exit(options.command.isEmpty ? ExitCode.usage.rawValue : 0)
}
let client = StoreClient(configuration: ClientConfiguration(host: options.host, port: options.port, token: options.token,
                                                            defaultTimeout: options.timeout, connectTimeout: .seconds(5)))
do {
    try await run(options, client: client)
    await client.close()
    exit(ExitCode.success.rawValue)
} catch let error as CLIUsageError {
    fail("\(error)\n\(usage)", .usage)
} catch is CLIServerStatusDown {
    exit(ExitCode.serverError.rawValue)
} catch let StoreClientError.server(body) {
    fail("server error \(body.code.name): \(body.message)", .serverError)
} catch let error as StoreClientError {
    fail("\(error)", .connection)
} catch {
    fail("\(error)", .serverError)
}
