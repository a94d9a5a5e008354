/// How a query vector is compared with stored vectors; higher scores rank first.
enum VectorMetric: String, Sendable, CaseIterable {
    case cosine, dot, l2

    /// The ranking score from the dot product and both lengths (L2: the negated squared distance).
    @inline(__always)
    func score(dot: Float, queryNorm: Float, norm: Float) -> Float {
        switch self {
        case .cosine: return queryNorm > 0 && norm > 0 ? dot / (queryNorm * norm) : 0
        case .dot: return dot
        case .l2: return -max(queryNorm * queryNorm + norm * norm - 2 * dot, 0)
        }
    }

    /// The score reported to clients: cosine and dot as they are, L2 as 1 / (1 + distance).
    func similarity(_ score: Float) -> Double {
        switch self {
        case .cosine, .dot: return Double(score)
        case .l2: return 1 / (1 + Double(-score).squareRoot())
        }
    }
}
