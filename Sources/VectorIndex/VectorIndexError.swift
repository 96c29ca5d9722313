// The errors the index reports; one case per thing a caller would handle differently.

/// Errors thrown by `VectorIndex`. Nothing the caller passes in, nor any snapshot bytes, traps.
public enum VectorIndexError: Error, Equatable, Sendable {
    /// The vector's length is not the index's dimension.
    case dimensionMismatch(expected: Int, actual: Int)
    /// A component is NaN or infinite; `index` is the first such position.
    case nonFiniteComponent(index: Int)
    /// A cosine index cannot normalize an all-zero vector.
    case zeroVector
    /// A parameter (dimension, M, search width, result count) is outside its documented limit.
    case invalidParameter(String)
    /// The index already holds `VectorIndexLimits.slotCountMax` vectors.
    case capacityExceeded
    /// Snapshot bytes are not a valid snapshot; the text says which check failed.
    case corruptSnapshot(String)
    /// Reading or writing a snapshot file failed; the text carries the system's message.
    case fileError(String)
}
