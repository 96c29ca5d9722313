// The conversations domain: conversations (cached read-through) and agent executions in
// PostgreSQL.
import WireProtocol

public enum ConversationsDomain {
    public static let domain = Domain(name: "conversations", migrations: ConversationSchema.migrations) { router, backends in
        let store = PostgresConversationStore(pool: backends.postgres)
        let logger = backends.logger.labeled("conversations")
        let cache = ConversationCache(cache: backends.cache, timeToLive: backends.configuration.cacheDefaultTimeToLive,
                                      logger: logger)
        // With the cache off there is nothing to keep warm.
        let interval = backends.cache.health == .disabled ? Duration.zero : backends.configuration.cacheHotReloadInterval
        let refresher = HotConversationRefresher(store: store, cache: cache, interval: interval, logger: logger)
        let conversations = ConversationHandlers(store: store, cache: cache, refresher: refresher)
        let executions = ExecutionHandlers(store: store)
        router.register(.conversationCreate, .deferred { request, _ in try await conversations.create(request) })
        router.register(.conversationGet, .deferred { request, _ in try await conversations.get(request) })
        router.register(.conversationUpdate, .deferred { request, _ in try await conversations.update(request) })
        router.register(.conversationDelete, .deferred { request, _ in try await conversations.delete(request) })
        router.register(.conversationList, .deferred { request, _ in try await conversations.list(request) })
        router.register(.executionCreate, .deferred { request, _ in try await executions.create(request) })
        router.register(.executionStart, .deferred { request, _ in try await executions.start(request) })
        router.register(.executionComplete, .deferred { request, _ in try await executions.complete(request) })
        router.register(.executionFail, .deferred { request, _ in try await executions.fail(request) })
        router.register(.executionGet, .deferred { request, _ in try await executions.get(request) })
        router.register(.executionList, .deferred { request, stream in try await executions.list(request, stream) })
        router.register(.executionTotals, .deferred { request, _ in try await executions.totals(request) })
    }
}
