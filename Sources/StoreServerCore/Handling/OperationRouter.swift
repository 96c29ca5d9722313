// The table from opcode to the code that answers it. Domains register their operations here at
// start; session operations (auth, ping, cancel, goodbye) are handled by the session itself.
import WireProtocol

public enum Route: Sendable {
    /// Answered on the connection's queue at once: for cheap operations that never block.
    case immediate(@Sendable (Request) throws -> [UInt8])
    /// Run as a task; may await backends and stream partial results.
    case deferred(@Sendable (Request, any ResponseStreaming) async throws -> [UInt8])
}

public struct OperationRouter: Sendable {
    private var routes: [Opcode: Route] = [:]

    public init() {}

    public mutating func register(_ opcode: Opcode, _ route: Route) {
        precondition(routes[opcode] == nil, "opcode \(opcode) registered twice")
        routes[opcode] = route
    }

    public func route(for opcode: Opcode) -> Route? { routes[opcode] }
}
