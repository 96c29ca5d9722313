// The follow cursor: how far every change committed by any server is known to be in the index,
// despite change numbers committing out of order. A plain state machine (no I/O), so its rules
// are tested without a database.
//
// The problem: `memory_change_seq` values are taken when a row is written but become visible
// when its transaction commits, in another order. A read may see change 105 while 104 is still
// in flight; a cursor moved to 105 would skip 104 forever.
//
// The scheme. Every transaction that takes a change number for a vector or tombstone holds a
// write lock on `memory_vectors` or `memory_vector_tombstones` from before it takes the number
// (PostgreSQL locks a statement's target table before evaluating its defaults, and a tombstone
// follows a delete from `memory_vectors`) until it ends. Each poll:
//   (a) lists the transactions holding such locks now (`running`);
//   (b) in one REPEATABLE READ snapshot S, reads every change above the confirmed cursor C,
//       applies it (idempotently), and lists the lock holders again after S was taken
//       (`writers`), recording (highest change read M, writers) as pending.
// A pending entry j is settled at poll k when none of its writers is in poll k's `running`.
// Then every change ≤ M_j is either aborted or was visible to poll k's read: a number ≤ M_j was
// taken before M_j's transaction committed, hence before S_j, by a transaction that held its
// lock from then on, so it had ended before S_j, or was still listed in writers_j, or ended
// between S_j and that listing; in every case it ended before poll k's (a), so before S_k.
// Poll k read everything above C, so once its changes are applied C may move to M_j.
// Settling is monotonic: a writer still running at (a)_k was running when writers_i (i < j)
// and writers_j were listed, so it is in both; a settled j implies every older entry settled.
// Reads above C repeat until C moves (about one poll interval), which the index makes cheap: an
// id already present or already removed is skipped.

struct MemoryFollowCursor: Sendable {
    /// Every change at or below it is in the index (or was aborted).
    private(set) var confirmed: UInt64
    private var pending: [(through: UInt64, writers: Set<String>)] = []

    init(confirmed: UInt64) {
        self.confirmed = confirmed
    }

    var hasPending: Bool { !pending.isEmpty }

    /// Step (a): the highest pending change whose writers have all ended, if any. Confirm it
    /// with `confirm(_:)` only after this poll's read was applied.
    func settled(running: Set<String>) -> UInt64? {
        pending.last { $0.writers.isDisjoint(with: running) }?.through
    }

    /// Moves the cursor to `change` (never backwards) and drops the entries it covers.
    mutating func confirm(_ change: UInt64) {
        confirmed = max(confirmed, change)
        pending.removeAll { $0.through <= confirmed }
    }

    /// Step (b): the highest change this poll read and the writers listed after its snapshot.
    mutating func record(through change: UInt64, writers: Set<String>) {
        // Nothing newer than the last entry: that entry already covers this read.
        guard change > confirmed, change > pending.last?.through ?? 0 else { return }
        pending.append((change, writers))
    }

    /// After a reload that moved the cursor to `change` directly.
    mutating func reset(to change: UInt64) {
        confirmed = change
        pending.removeAll()
    }
}
