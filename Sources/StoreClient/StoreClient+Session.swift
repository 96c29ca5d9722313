import WireProtocol

// Typed calls for the session operations of protocol-spec.md section 5.

extension StoreClient {
    /// Round trip of one PING on the current connection (connecting first if needed; the
    /// connect time is not counted).
    public func ping(timeout: Duration? = nil) async throws(StoreClientError) -> Duration {
        _ = try await connection()
        let payload = UInt64.random(in: 1...UInt64.max)
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await send(opcode: .ping, body: PingMessage(payload: payload).encodedBody, timeout: timeout)
        let elapsed = clock.now - start
        let echoed: PingMessage
        do {
            echoed = try PingMessage.decode(body: response.body)
        } catch {
            throw .protocolViolation("undecodable PING response: \(error)")
        }
        guard echoed.payload == payload else {
            throw .protocolViolation("PING response echoed \(echoed.payload), sent \(payload)")
        }
        return elapsed
    }

    public func health(timeout: Duration? = nil) async throws(StoreClientError) -> HealthResponse {
        let response = try await send(opcode: .health, timeout: timeout)
        do {
            return try HealthResponse.decode(body: response.body)
        } catch {
            throw .protocolViolation("undecodable HEALTH response: \(error)")
        }
    }
}
