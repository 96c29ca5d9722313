// Conversations served read-through from the cache, invalidated on every write, with no stale
// read after a write in this process.
//
// Why a read after a write never sees the old value: a reader that missed loads the row from
// PostgreSQL and then fills the cache; a writer commits, then invalidates. The race to prevent is
// a reader that loaded the old row filling the cache after the writer's delete. Fills and
// invalidations of a key take the same stripe of an async lock, and each stripe has a generation
// that every invalidation bumps. A filler records the generation before it loads and fills only
// if it is unchanged once it holds the lock; a writer bumps the generation and deletes while it
// holds the lock. So either the fill lands before the delete (which removes it), or the filler
// sees the new generation and drops its value. The writer answers its client only after the
// delete, so no later read can find the old value. Cache hits take no lock.
//
// If an invalidation fails for a reason other than Redis being unreachable (which the fallback
// handles), the id is marked suspect: its reads bypass the cache and retry the delete until one
// succeeds. So a committed write is still answered as a success and never followed by a stale
// read. Too many suspects at once and every read bypasses the cache until the whole record key
// space is cleared.
//
// This covers writes made through this server process. Several store-server instances over one
// Redis share the invalidation (a delete in Redis), but not the generations: a fill from another
// instance can race a write as described, and such a value lives at most the cache TTL.
import Synchronization
import WireProtocol

final class ConversationCache: Sendable {
    /// Stripes of the fill/invalidate lock; more stripes, fewer fills dropped by unrelated writes.
    static let stripeCount = 256
    /// First byte of a cached record: the format of what follows (the wire encoding of a
    /// ConversationRecord), so a future change never misreads an old entry.
    static let formatVersion: UInt8 = 1
    /// Ids with a failed invalidation remembered one by one; past this, every read bypasses the
    /// cache until the record key space is cleared. Bounds the memory an outage can take.
    static let suspectsMax = 10_000

    private struct Suspects {
        var ids: Set<String> = []
        var overflowed = false
    }

    private let cache: any CacheBackend
    private let timeToLive: Duration
    private let logger: Logger
    private let lock = AsyncStripedLock(stripeCount: ConversationCache.stripeCount)
    private let generations = Mutex([UInt64](repeating: 0, count: ConversationCache.stripeCount))
    private let suspects = Mutex(Suspects())

    init(cache: any CacheBackend, timeToLive: Duration, logger: Logger) {
        self.cache = cache
        self.timeToLive = timeToLive
        self.logger = logger
    }

    static func key(for id: String) -> [UInt8] { CacheKeySpace.record("conversation:\(id)") }

    /// The conversation from the cache, or `load()` and a fill. Cache failures degrade to loads:
    /// a miss is always safe.
    func read(id: String, load: () async throws -> ConversationRecord?) async throws -> ConversationRecord? {
        guard await clearSuspicion(of: id) else { return try await load() }
        if let hit = await cached(id: id) { return hit }
        let stripe = lock.stripe(for: id)
        let generation = generations.withLock { $0[stripe] }
        guard let record = try await load() else { return nil }
        await fill(record, stripe: stripe, generation: generation)
        return record
    }

    /// Call after a committed write (or delete) of the conversation, before answering. Never
    /// fails: an invalidation that could not be done marks the id suspect instead.
    func invalidate(id: String) async {
        let stripe = lock.stripe(for: id)
        await lock.withLock(stripe: stripe) {
            generations.withLock { $0[stripe] &+= 1 }
            do {
                _ = try await cache.delete([Self.key(for: id)])
            } catch {
                logger.warning("conversation cache invalidation failed; bypassing the cache for it", ["id": id, "error": error])
                suspects.withLock { suspects in
                    guard !suspects.overflowed else { return }
                    suspects.ids.insert(id)
                    if suspects.ids.count > Self.suspectsMax {
                        suspects.overflowed = true
                        suspects.ids = []
                    }
                }
            }
        }
    }

    /// True when the cache may serve `id`: it is not suspect, or the pending invalidation has
    /// now been done.
    private func clearSuspicion(of id: String) async -> Bool {
        let (isSuspect, overflowed) = suspects.withLock { ($0.ids.contains(id), $0.overflowed) }
        if overflowed {
            do {
                _ = try await cache.clear(prefix: CacheKeySpace.recordPrefix)
                suspects.withLock { $0 = Suspects() }
            } catch {
                logger.debug("record cache clear failed; still bypassing the cache", ["error": error])
                return false
            }
            return true
        }
        guard isSuspect else { return true }
        let stripe = lock.stripe(for: id)
        return await lock.withLock(stripe: stripe) {
            do {
                _ = try await cache.delete([Self.key(for: id)])
                suspects.withLock { _ = $0.ids.remove(id) }
                return true
            } catch {
                return false
            }
        }
    }

    /// The generations of every stripe, for a batch refresh: take it before loading the batch.
    func generationSnapshot() -> [UInt64] { generations.withLock { $0 } }

    /// Writes `records` loaded after `snapshot` was taken, skipping any written meanwhile.
    func refresh(_ records: [ConversationRecord], loadedAfter snapshot: [UInt64]) async {
        for record in records {
            let stripe = lock.stripe(for: record.id)
            await fill(record, stripe: stripe, generation: snapshot[stripe])
        }
    }

    private func cached(id: String) async -> ConversationRecord? {
        let value: [UInt8]?
        do {
            value = try await cache.get(Self.key(for: id))
        } catch {
            logger.debug("conversation cache read failed; loading from PostgreSQL", ["error": error])
            return nil
        }
        guard let value, value.first == Self.formatVersion else { return nil }
        do {
            return try ConversationRecord.decode(body: Array(value.dropFirst()))
        } catch {
            logger.warning("undecodable cached conversation; ignoring it", ["id": id, "error": error])
            return nil
        }
    }

    private func fill(_ record: ConversationRecord, stripe: Int, generation: UInt64) async {
        await lock.withLock(stripe: stripe) {
            guard generations.withLock({ $0[stripe] }) == generation else { return }
            do {
                try await cache.set(Self.key(for: record.id), value: [Self.formatVersion] + record.encodedBody,
                                    timeToLive: timeToLive)
            } catch {
                // The value is simply not cached; the next read loads it again.
                logger.debug("conversation cache fill failed", ["id": record.id, "error": error])
            }
        }
    }
}
