import Foundation
import Synchronization

/// The vectors of one embedder, held in memory: exact search over both cores for small
/// collections, an IVF index for large ones (built automatically in the background once the
/// collection reaches ``Configuration/ivfThreshold`` rows and rebuilt as it grows by a quarter).
/// Rows added after a build are scanned exactly until the next one.
final class VectorCollection: Sendable {
    struct Configuration: Sendable {
        /// Rows from which an IVF index is built (below it, search is exact).
        var ivfThreshold = 20_000
        /// Lists probed per query when the request does not say (clamped to the list count).
        var defaultProbes = 24
        /// Build in the background on growth (off in tests that build explicitly).
        var buildsAutomatically = true
    }

    /// One hit: the document row and its score (higher first).
    struct Hit: Sendable, Equatable {
        var seq: Int64
        var score: Float
    }

    private struct State {
        var chunks: [VectorChunk] = []
        var count = 0
        var dead: [UInt64] = []
        var slotBySeq: [Int64: Int] = [:]
        var ivf: IVFIndex?
        var building = false
        var builtAt: Double?
    }

    let dimensions: Int
    let configuration: Configuration
    private let state = Mutex(State())

    init(dimensions: Int, configuration: Configuration = Configuration()) {
        self.dimensions = dimensions
        self.configuration = configuration
    }

    /// Live rows.
    var liveCount: Int { state.withLock { $0.slotBySeq.count } }

    /// `(kind, lists, built_at)` for /health.
    var indexDescription: (kind: String, lists: Int, builtAt: Double?, indexedRows: Int) {
        state.withLock { state in
            if let ivf = state.ivf { return ("ivf", ivf.lists.count, state.builtAt, ivf.indexedCount) }
            return ("exact", 0, nil, 0)
        }
    }

    /// Adds or replaces the vector of document `entry.seq`.
    func upsert(_ vector: [Float], entry: VectorEntry) {
        precondition(vector.count == dimensions, "vector dimension checked by the caller")
        var entry = entry
        entry.norm = VectorMath.dot(vector, vector).squareRoot()
        let shouldBuild = state.withLock { state in
            if let old = state.slotBySeq[entry.seq] { Self.markDead(old, in: &state) }
            let slot = state.count
            if slot / VectorChunk.capacity == state.chunks.count { state.chunks.append(VectorChunk(dimensions: dimensions)) }
            state.chunks[slot / VectorChunk.capacity].write(row: slot % VectorChunk.capacity, vector: vector, entry: entry)
            state.count += 1
            state.slotBySeq[entry.seq] = slot
            return needsBuild(state)
        }
        if shouldBuild { buildInBackground() }
    }

    /// Removes document `seq`'s vector; returns whether it had one.
    @discardableResult
    func remove(seq: Int64) -> Bool {
        state.withLock { state in
            guard let slot = state.slotBySeq.removeValue(forKey: seq) else { return false }
            Self.markDead(slot, in: &state)
            return true
        }
    }

    private static func markDead(_ slot: Int, in state: inout State) {
        let word = slot >> 6
        if state.dead.count <= word { state.dead.append(contentsOf: repeatElement(0, count: word - state.dead.count + 1)) }
        state.dead[word] |= 1 << UInt64(slot & 63)
    }

    func snapshot() -> VectorSnapshot {
        state.withLock { VectorSnapshot(dimensions: dimensions, chunks: $0.chunks, count: $0.count, dead: $0.dead, ivf: $0.ivf) }
    }

    /// The `k` best live rows for `query` that pass `filter` (applied before ranking).
    /// - Parameters:
    ///   - probes: IVF lists to scan; nil for the default; ignored when `exact` or no index is built.
    func search(
        _ query: [Float], k: Int, metric: VectorMetric, filter: (@Sendable (VectorEntry) -> Bool)?, probes: Int? = nil, exact: Bool = false
    ) -> [Hit] {
        let snapshot = snapshot()
        let queryNorm = VectorMath.dot(query, query).squareRoot()
        // Rows to visit: all of them, or the probed lists plus the rows added since the index was built.
        var slots: [Int32]?
        if let ivf = snapshot.ivf, !exact {
            query.withUnsafeBufferPointer { buffer in
                var probed = ivf.nearestLists(to: buffer.baseAddress!, count: probes ?? configuration.defaultProbes).flatMap { ivf.lists[$0] }
                probed.sort()  // Memory order: neighbouring rows share cache lines and pages.
                probed.append(contentsOf: (ivf.indexedCount..<snapshot.count).map { Int32($0) })
                slots = probed
            }
        }
        let visiting = slots
        let top = Self.scan(count: visiting?.count ?? snapshot.count, k: k) { range, top in
            query.withUnsafeBufferPointer { buffer in
                let q = buffer.baseAddress!
                for index in range {
                    let slot = visiting.map { Int($0[index]) } ?? index
                    if snapshot.isDead(slot) { continue }
                    if let filter, !filter(snapshot.entry(slot)) { continue }
                    let dot = VectorMath.dot(q, snapshot.vector(slot), count: snapshot.dimensions)
                    top.insert(metric.score(dot: dot, queryNorm: queryNorm, norm: snapshot.norm(slot)), Int32(slot))
                }
            }
        }
        return top.sorted().map { Hit(seq: snapshot.entry(Int($0.slot)).seq, score: $0.score) }
    }

    /// Runs `visit` over parts of `0..<count`, split across cores when the scan is large, and merges the top `k`.
    private static func scan(count: Int, k: Int, _ visit: @escaping @Sendable (Range<Int>, inout TopK) -> Void) -> TopK {
        let parts = count >= 8192 ? VectorMath.cores : 1
        let results = Mutex<[TopK]>([])
        VectorMath.inParallel(parts: parts) { part in
            var top = TopK(k: k)
            visit((count * part / parts)..<(count * (part + 1) / parts), &top)
            results.withLock { $0.append(top) }
        }
        var merged = TopK(k: k)
        for top in results.withLock({ $0 }) { merged.merge(top) }
        return merged
    }

    // MARK: - IVF

    private func needsBuild(_ state: State) -> Bool {
        guard configuration.buildsAutomatically, !state.building, state.slotBySeq.count >= configuration.ivfThreshold else { return false }
        guard let ivf = state.ivf else { return true }
        return state.count >= ivf.indexedCount + ivf.indexedCount / 4
    }

    /// Builds the index on a thread of its own (k-means is seconds of CPU at 100k rows) and installs it.
    private func buildInBackground() {
        let start = state.withLock { state in
            guard !state.building else { return false }
            state.building = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in buildIndex() }
        thread.name = "atom-hub.search.ivf"
        thread.start()
    }

    /// Builds the index now on a thread of its own and returns when it is installed (`POST /index`).
    func rebuild(lists: Int?) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                buildIndex(lists: lists)
                continuation.resume()
            }
            thread.name = "atom-hub.search.ivf"
            thread.start()
        }
    }

    /// Builds the IVF index over the rows present now and installs it (blocking; tests call it directly).
    func buildIndex(lists: Int? = nil) {
        state.withLock { $0.building = true }
        let snapshot = snapshot()
        let index = IVFIndex.build(snapshot, lists: lists)
        state.withLock { state in
            state.ivf = index
            state.builtAt = Date().timeIntervalSince1970
            state.building = false
        }
    }
}
