// A small structured logger: level, subsystem label, message and key=value metadata, one line
// per event on stderr. The server never uses print.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug = 0, info, notice, warning, error

    public init?(name: String) {
        switch name.lowercased() {
        case "debug", "trace": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    var label: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where log lines go. The default writes to stderr; tests can collect lines instead.
public protocol LogSink: Sendable {
    func write(line: String)
}

public struct StandardErrorSink: LogSink {
    public init() {}
    public func write(line: String) {
        // One write call per line keeps lines from different threads whole.
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                // A failed write to stderr has nowhere better to be reported; drop the line.
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

/// A value type: copying it with another subsystem is cheap. Thread-safe because it holds only
/// immutable state and a Sendable sink.
public struct Logger: Sendable {
    public let subsystem: String
    public let minimumLevel: LogLevel
    private let sink: any LogSink

    public init(subsystem: String, minimumLevel: LogLevel = .info, sink: any LogSink = StandardErrorSink()) {
        self.subsystem = subsystem
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    /// The same sink and level under another subsystem label.
    public func labeled(_ subsystem: String) -> Logger {
        Logger(subsystem: subsystem, minimumLevel: minimumLevel, sink: sink)
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String,
                    _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        guard level >= minimumLevel else { return }
        var line = "\(Self.timestamp()) \(level.label) [\(subsystem)] \(message())"
        for (key, value) in metadata() {
            line += " \(key)=\(Self.quoteIfNeeded(String(describing: value)))"
        }
        sink.write(line: line)
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        log(.debug, message(), metadata())
    }
    public func info(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        log(.info, message(), metadata())
    }
    public func notice(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        log(.notice, message(), metadata())
    }
    public func warning(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        log(.warning, message(), metadata())
    }
    public func error(_ message: @autoclosure () -> String, _ metadata: @autoclosure () -> KeyValuePairs<String, Any> = [:]) {
        log(.error, message(), metadata())
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }

    private static func quoteIfNeeded(_ value: String) -> String {
        if value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "\"\(escaped)\""
        }
        return value
    }
}
