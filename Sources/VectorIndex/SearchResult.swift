// One hit of a nearest-neighbour search.

/// A vector's external id and its distance to the query (smaller is closer; see `DistanceMetric`
/// for the scale of each metric).
public struct SearchResult: Sendable, Equatable {
    public var id: UInt64
    public var distance: Float

    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }
}
