/// Reciprocal rank fusion: a document's combined score is the sum over the lists it appears in of
/// 1 / (k + rank), rank starting at 1; k = 60 as in LanceDB and the original paper.
enum RankFusion {
    static let k = 60.0

    /// Fuses ranked lists of document rows; best first, ties by the order of first appearance.
    static func fuse(_ lists: [[Int64]]) -> [(seq: Int64, score: Double)] {
        var scores: [Int64: Double] = [:]
        var order: [Int64] = []
        for list in lists {
            for (index, seq) in list.enumerated() {
                if scores[seq] == nil { order.append(seq) }
                scores[seq, default: 0] += 1 / (k + Double(index + 1))
            }
        }
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        return order.map { ($0, scores[$0]!) }.sorted { $0.score > $1.score || ($0.score == $1.score && position[$0.seq]! < position[$1.seq]!) }
    }
}
