/// What filters need to know about a stored vector's document, kept beside the vector.
struct VectorEntry: Sendable {
    /// The document's row in `search_documents`.
    var seq: Int64
    var docType: String
    var provider: String
    var workspaceID: String?
    var userID: String?
    /// Seconds since 1970.
    var createdAt: Double
    var tags: [String]
    /// The vector's Euclidean length.
    var norm: Float
}

/// A fixed block of rows: vectors and their entries in memory that never moves, so queries can read
/// rows below the published count while new rows are appended after it.
final class VectorChunk: @unchecked Sendable {  // Safe: a row is written once, before the collection publishes it under its lock; only deinit reads `filled`.
    static let capacity = 4096

    let dimensions: Int
    let vectors: UnsafeMutablePointer<Float>
    /// Each row's length, beside the vectors so scans without filters never touch the entries.
    let norms: UnsafeMutablePointer<Float>
    let entries: UnsafeMutablePointer<VectorEntry>
    /// Rows written; changed only under the owning collection's lock.
    var filled = 0

    init(dimensions: Int) {
        self.dimensions = dimensions
        vectors = .allocate(capacity: Self.capacity * dimensions)
        norms = .allocate(capacity: Self.capacity)
        entries = .allocate(capacity: Self.capacity)
    }

    deinit {
        entries.deinitialize(count: filled)
        entries.deallocate()
        norms.deallocate()
        vectors.deallocate()
    }

    /// Writes row `row` (the next one).
    func write(row: Int, vector: [Float], entry: VectorEntry) {
        vector.withUnsafeBufferPointer { source in (vectors + row * dimensions).update(from: source.baseAddress!, count: dimensions) }
        norms[row] = entry.norm
        (entries + row).initialize(to: entry)
        filled = row + 1
    }
}

/// One consistent view of a collection for a query: rows `0..<count`, which of them are deleted, and the IVF index if built.
struct VectorSnapshot: @unchecked Sendable {  // Safe: rows below `count` are immutable (see VectorChunk).
    let dimensions: Int
    let chunks: [VectorChunk]
    let count: Int
    /// One bit per row; set when the row was deleted or replaced.
    let dead: [UInt64]
    let ivf: IVFIndex?
    /// The chunks' buffers, so the scan loop does no reference counting (`chunks` keeps them alive).
    private let vectorBases: [UnsafeMutablePointer<Float>]
    private let normBases: [UnsafeMutablePointer<Float>]

    init(dimensions: Int, chunks: [VectorChunk], count: Int, dead: [UInt64], ivf: IVFIndex?) {
        self.dimensions = dimensions
        self.chunks = chunks
        self.count = count
        self.dead = dead
        self.ivf = ivf
        vectorBases = chunks.map(\.vectors)
        normBases = chunks.map(\.norms)
    }

    @inline(__always) func vector(_ slot: Int) -> UnsafePointer<Float> {
        UnsafePointer(vectorBases[slot / VectorChunk.capacity] + (slot % VectorChunk.capacity) * dimensions)
    }

    @inline(__always) func norm(_ slot: Int) -> Float { normBases[slot / VectorChunk.capacity][slot % VectorChunk.capacity] }

    @inline(__always) func entry(_ slot: Int) -> VectorEntry {
        chunks[slot / VectorChunk.capacity].entries[slot % VectorChunk.capacity]
    }

    @inline(__always) func isDead(_ slot: Int) -> Bool {
        let word = slot >> 6
        return word < dead.count && dead[word] & (1 << UInt64(slot & 63)) != 0
    }
}
