// Operation codes. A struct over the raw number rather than an enum so that an unknown opcode
// from a newer peer is a value the server can answer with unknown_opcode, not a decoding crash.

public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Connection and session (0x00xx).
    public static let hello = Opcode(rawValue: 0x0001)
    public static let auth = Opcode(rawValue: 0x0002)
    public static let ping = Opcode(rawValue: 0x0003)
    public static let cancel = Opcode(rawValue: 0x0004)
    public static let goodbye = Opcode(rawValue: 0x0005)
    public static let goAway = Opcode(rawValue: 0x0006)
    public static let health = Opcode(rawValue: 0x0007)

    // Domains add their ranges: checkpoints 0x01xx, conversations 0x02xx, cache 0x03xx,
    // memories 0x04xx (see the catalogue in protocol-spec.md).

    /// Operations a client may send before it has authenticated.
    public var isAllowedBeforeAuthentication: Bool {
        self == .auth || self == .ping || self == .goodbye
    }

    public var name: String {
        switch self {
        case .hello: "hello"
        case .auth: "auth"
        case .ping: "ping"
        case .cancel: "cancel"
        case .goodbye: "goodbye"
        case .goAway: "go_away"
        case .health: "health"
        default: OperationCatalogue.name(of: self) ?? "0x" + Hex.string([UInt8(rawValue >> 8), UInt8(rawValue & 0xFF)])
        }
    }

    public var description: String { name }
}

/// Names of domain operations (the spec's names, lower case), for logs and metrics.
public enum OperationCatalogue {
    static let names: [Opcode: String] = [
        .checkpointPut: "checkpoint_put", .checkpointPutWrites: "checkpoint_put_writes",
        .checkpointGet: "checkpoint_get", .checkpointList: "checkpoint_list",
        .checkpointDeleteThread: "checkpoint_delete_thread", .checkpointDeleteForRuns: "checkpoint_delete_for_runs",
        .checkpointCopyThread: "checkpoint_copy_thread", .checkpointPrune: "checkpoint_prune",
        .conversationCreate: "conversation_create", .conversationGet: "conversation_get",
        .conversationUpdate: "conversation_update", .conversationDelete: "conversation_delete",
        .conversationList: "conversation_list", .executionCreate: "execution_create",
        .executionStart: "execution_start", .executionComplete: "execution_complete",
        .executionFail: "execution_fail", .executionGet: "execution_get", .executionList: "execution_list",
        .executionTotals: "execution_totals",
        .cacheGet: "cache_get", .cacheSet: "cache_set", .cacheDelete: "cache_delete", .cacheClear: "cache_clear",
        .memoryCollectionEnsure: "memory_collection_ensure", .memoryPut: "memory_put", .memoryGet: "memory_get",
        .memoryDelete: "memory_delete", .memorySearch: "memory_search",
        .memoryListNamespaces: "memory_list_namespaces", .memoryBatch: "memory_batch",
    ]

    static func name(of opcode: Opcode) -> String? { names[opcode] }
}
