// The lifecycle of an agent execution: pending -> running -> completed | failed. Any other
// transition is refused with `conflict`.

public enum ExecutionStatus: UInt8, Sendable, Hashable, CaseIterable {
    case pending = 1
    case running = 2
    case completed = 3
    case failed = 4

    /// The name stored in PostgreSQL and used in messages.
    public var name: String {
        switch self {
        case .pending: "pending"
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        }
    }

    public init?(name: String) {
        guard let status = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = status
    }

    /// True when the lifecycle allows going from `self` to `next`.
    public func canMove(to next: ExecutionStatus) -> Bool {
        switch (self, next) {
        case (.pending, .running), (.running, .completed), (.running, .failed): true
        default: false
        }
    }
}
