// The checkpoint domain: LangGraph checkpointer storage (protocol-spec.md §7.1).
import WireProtocol

public enum CheckpointDomain {
    public static let domain = Domain(name: "checkpoints", migrations: CheckpointMigrations.all) { router, backends in
        register(into: &router, store: PostgresCheckpointStore(pool: backends.postgres))
    }

    /// Registers the operations over any store (tests may pass their own).
    public static func register(into router: inout OperationRouter, store: any CheckpointStore) {
        let handlers = CheckpointHandlers(store: store)
        router.register(.checkpointPut, .deferred { request, _ in try await handlers.put(request) })
        router.register(.checkpointPutWrites, .deferred { request, _ in try await handlers.putWrites(request) })
        router.register(.checkpointGet, .deferred { request, _ in try await handlers.get(request) })
        router.register(.checkpointList, .deferred { request, stream in try await handlers.list(request, stream: stream) })
        router.register(.checkpointDeleteThread, .deferred { request, _ in try await handlers.deleteThread(request) })
        router.register(.checkpointDeleteForRuns, .deferred { request, _ in try await handlers.deleteForRuns(request) })
        router.register(.checkpointCopyThread, .deferred { request, _ in try await handlers.copyThread(request) })
        router.register(.checkpointPrune, .deferred { request, _ in try await handlers.prune(request) })
    }
}
