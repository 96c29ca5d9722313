// The client's own limits and tunables, in one place, each with the reason for its value.

enum ClientLimits {
    /// Largest frame body accepted before HELLO has told us the real limit. The HELLO body is a
    /// few hundred bytes; 64 KiB leaves room for many future capabilities while refusing a
    /// garbage length from something that is not our server.
    static let helloFrameBodyBytesMax = 64 << 10
    /// Bytes asked of each `read` call: large enough to take many small responses per system
    /// call, small enough to keep on the reader thread's heap without concern.
    static let readChunkBytes = 64 << 10
    /// First reconnect delay after a failed connect; doubled per consecutive failure.
    static let reconnectDelayInitial = Duration.milliseconds(50)
    /// Ceiling of the reconnect delay, so a server that comes back is found within seconds.
    static let reconnectDelayMax = Duration.seconds(2)
    /// How many times a call that the server provably never executed (after GO_AWAY) is sent
    /// again on a new connection before its error is returned. Bounded so a server that keeps
    /// going away cannot loop a caller forever.
    static let notExecutedResendMax = 3
    /// Timeout of the GOODBYE exchange in `close()`: it waits for in-flight calls, whose own
    /// timeouts bound them, so this only guards against a server that never answers.
    static let goodbyeTimeout = Duration.seconds(30)
}

extension Duration {
    /// Whole milliseconds rounded up, clamped to the u32 header field; at least 1 so a tiny
    /// positive timeout is not read as "server default" (0).
    var headerMilliseconds: UInt32 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 1 }
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let fraction = (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return UInt32.max }
        return UInt32(clamping: max(1, scaled + fraction))
    }
}
