// How the index compares vectors; fixed for the life of an index.

/// The distance an index ranks by. Every metric is turned into a distance where smaller is closer,
/// so one search algorithm serves all three.
public enum DistanceMetric: UInt32, Sendable, CaseIterable {
    /// `1 - cos(a, b)`, in `0...2`. Vectors are normalized when inserted and queries when searched,
    /// so the kernel is the inner product of unit vectors; zero vectors are rejected.
    case cosine = 1
    /// `|a - b|²` (squared, because the square root does not change the order and costs time).
    case squaredEuclidean = 2
    /// `1 - a·b`. The score is `1 - distance`; for unit vectors this ranks like `cosine`.
    case innerProduct = 3
}
