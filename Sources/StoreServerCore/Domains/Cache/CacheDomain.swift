// The cache domain: get, set with a time to live, delete and clear by prefix, over `Backends.cache`.
import WireProtocol

public enum CacheDomain {
    public static let domain = Domain(name: "cache", migrations: []) { router, backends in
        let handlers = CacheHandlers(cache: backends.cache,
                                     defaultTimeToLive: backends.configuration.cacheDefaultTimeToLive)
        router.register(.cacheGet, .deferred { request, _ in try await handlers.get(request) })
        router.register(.cacheSet, .deferred { request, _ in try await handlers.set(request) })
        router.register(.cacheDelete, .deferred { request, _ in try await handlers.delete(request) })
        router.register(.cacheClear, .deferred { request, _ in try await handlers.clear(request) })
    }
}
