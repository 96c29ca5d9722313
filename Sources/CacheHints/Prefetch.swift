// Software prefetch for the vector index's search loop.
//
// Swift exposes no prefetch instruction, and a plain load blocks the CPU's retirement until the
// line arrives. LLVM's prefetch intrinsic is reachable through the `Builtin` module, which only
// a module compiled with `-parse-stdlib` may use; this module is that, and holds nothing else so
// the flag touches no other code. The function is inlinable, so callers get the bare
// instruction (`prefetcht0` on x86-64, `prfm pldl1keep` on arm64).
import Swift

/// Hints that the cache line holding `address` will be read soon. It never faults, even for an
/// address that is not mapped, and changes no program state.
@inlinable @inline(__always)
public func prefetchForRead(_ address: UnsafeRawPointer) {
    // Arguments of llvm.prefetch: address, 0 = read, 3 = keep in all cache levels, 1 = data cache.
    Builtin.int_prefetch_RawPointer(
        address._rawValue, Builtin.zeroInitializer(), (3 as Int32)._value, (1 as Int32)._value)
}
