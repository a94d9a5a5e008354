/// An inverted-file index: k-means centroids (spherical, over both cores) and, per centroid, the rows
/// nearest to it. A query scans only the rows of its `nprobe` nearest lists, at full precision, so
/// no separate refine step is needed; with every list probed it returns exactly what exact search does.
struct IVFIndex: Sendable {
    let dimensions: Int
    /// `lists.count × dimensions` floats, each centroid of length 1.
    let centroids: [Float]
    /// Rows per list.
    let lists: [[Int32]]
    /// Rows `0..<indexedCount` were assigned; later rows are scanned exactly by every query.
    let indexedCount: Int

    /// The `count` lists whose centroids are most similar to `query`.
    func nearestLists(to query: UnsafePointer<Float>, count: Int) -> [Int] {
        var top = TopK(k: max(1, min(count, lists.count)))
        centroids.withUnsafeBufferPointer { centroids in
            for list in lists.indices {
                top.insert(VectorMath.dot(query, centroids.baseAddress! + list * dimensions, count: dimensions), Int32(list))
            }
        }
        return top.sorted().map { Int($0.slot) }
    }

    /// Trains √n centroids (or `lists`) on a seeded sample of the live rows, then assigns every row.
    static func build(_ snapshot: VectorSnapshot, lists requested: Int? = nil, iterations: Int = 10, seed: UInt64 = 0x5EED) -> IVFIndex {
        let live = (0..<snapshot.count).filter { !snapshot.isDead($0) }
        let dimensions = snapshot.dimensions
        // Every row deleted (or none yet): no lists; rows added later are scanned exactly.
        guard !live.isEmpty else { return IVFIndex(dimensions: dimensions, centroids: [], lists: [], indexedCount: snapshot.count) }
        let listCount = max(1, min(requested ?? Int(Double(live.count).squareRoot()), live.count))
        var generator = SplitMix64(seed: seed)
        var sample = live
        if sample.count > listCount * 40 {
            for index in 0..<(listCount * 40) { sample.swapAt(index, Int(generator.next() % UInt64(sample.count - index)) + index) }
            sample = Array(sample.prefix(listCount * 40))
        }
        var centroids = [Float](repeating: 0, count: listCount * dimensions)
        for list in 0..<listCount { setCentroid(&centroids, list, from: snapshot.vector(sample[list * sample.count / listCount]), dimensions) }
        for _ in 0..<iterations {
            let assignment = assign(sample, snapshot, centroids, listCount)
            var sums = [Float](repeating: 0, count: listCount * dimensions)
            var sizes = [Int](repeating: 0, count: listCount)
            for (index, list) in zip(sample, assignment) {
                sizes[list] += 1
                let vector = snapshot.vector(index)
                for d in 0..<dimensions { sums[list * dimensions + d] += vector[d] }
            }
            for list in 0..<listCount {
                if sizes[list] == 0 {  // An empty cluster restarts at a random sample row.
                    setCentroid(&centroids, list, from: snapshot.vector(sample[Int(generator.next() % UInt64(sample.count))]), dimensions)
                } else {
                    sums.withUnsafeBufferPointer { setCentroid(&centroids, list, from: $0.baseAddress! + list * dimensions, dimensions) }
                }
            }
        }
        var members = [[Int32]](repeating: [], count: listCount)
        for (index, list) in zip(live, assign(live, snapshot, centroids, listCount)) { members[list].append(Int32(index)) }
        return IVFIndex(dimensions: dimensions, centroids: centroids, lists: members, indexedCount: snapshot.count)
    }

    /// The nearest centroid of each row, computed over both cores.
    private static func assign(_ rows: [Int], _ snapshot: VectorSnapshot, _ centroids: [Float], _ listCount: Int) -> [Int] {
        var result = [Int](repeating: 0, count: rows.count)
        let dimensions = snapshot.dimensions
        result.withUnsafeMutableBufferPointer { output in
            let output = SendablePointer(output.baseAddress!)
            let parts = rows.count >= 2048 ? VectorMath.cores : 1
            VectorMath.inParallel(parts: parts) { part in
                centroids.withUnsafeBufferPointer { centroids in
                    let base = centroids.baseAddress!
                    for index in (rows.count * part / parts)..<(rows.count * (part + 1) / parts) {
                        let vector = snapshot.vector(rows[index])
                        var best = 0
                        var bestScore = -Float.infinity
                        for list in 0..<listCount {
                            let score = VectorMath.dot(vector, base + list * dimensions, count: dimensions)
                            if score > bestScore { (best, bestScore) = (list, score) }
                        }
                        output.pointer[index] = best
                    }
                }
            }
        }
        return result
    }

    private static func setCentroid(_ centroids: inout [Float], _ list: Int, from source: UnsafePointer<Float>, _ dimensions: Int) {
        var norm: Float = 0
        for d in 0..<dimensions { norm += source[d] * source[d] }
        let scale: Float = norm > 0 ? 1 / norm.squareRoot() : 0
        for d in 0..<dimensions { centroids[list * dimensions + d] = source[d] * scale }
    }
}

/// A pointer handed to the parts of a parallel loop, each writing its own disjoint range.
struct SendablePointer<T>: @unchecked Sendable {  // Safe: the parts write disjoint indices and the loop joins before the memory is read.
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// A small seeded generator (SplitMix64) so index builds are reproducible.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
