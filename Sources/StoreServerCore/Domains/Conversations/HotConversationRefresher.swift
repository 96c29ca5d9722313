// Keeps the most recently active conversations warm in the cache: every
// `CACHE_HOT_RELOAD_INTERVAL` it loads them from PostgreSQL and writes them to the cache (through
// ConversationCache, so a refresh never overwrites a newer write).
//
// Started by the first conversation operation (domains have no start hook), and stopped when the
// domain's handlers are released with the server's router, or by `stop()`.
import Synchronization

final class HotConversationRefresher: Sendable {
    private let store: any ConversationStore
    private let cache: ConversationCache
    private let interval: Duration
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let isStopped = Mutex(false)

    init(store: any ConversationStore, cache: ConversationCache, interval: Duration, logger: Logger) {
        self.store = store
        self.cache = cache
        self.interval = interval
        self.logger = logger
    }

    deinit {
        task.withLock { $0 }?.cancel()
    }

    /// Starts the periodic refresh once; later calls do nothing. Cheap enough for every request.
    func startIfNeeded() {
        guard interval > .zero, !isStopped.withLock({ $0 }) else { return }
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [weak self, interval] in
                // Sleep first: reads fill the cache on their own, and a refresh right at start
                // would only repeat the fills of the first requests.
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: interval)
                    } catch {
                        return  // Cancelled: stopped or released.
                    }
                    guard let self else { return }
                    await self.refreshOnce()
                }
            }
        }
    }

    func stop() {
        isStopped.withLock { $0 = true }
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// One refresh; also used by tests and benchmarks to warm the cache on demand.
    func refreshOnce() async {
        let snapshot = cache.generationSnapshot()
        do {
            let records = try await store.recentlyActiveConversations(limit: ConversationLimits.hotConversationsMax)
            await cache.refresh(records, loadedAfter: snapshot)
            logger.debug("refreshed hot conversations", ["count": records.count])
        } catch {
            logger.warning("hot conversation refresh failed; retrying next interval", ["error": error])
        }
    }
}
