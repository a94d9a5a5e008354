import PluginAPI

/// Turns text into vectors. Every document records the embedder that made its vector, and a query
/// is only compared with documents of the embedder that embedded it.
protocol Embedder: Sendable {
    /// A stable name recorded per document (`hashing-384-v1`, `openai:text-embedding-3-small`).
    var id: String { get }
    /// One vector per text, in order.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// The built-in embedder: feature hashing of words and character trigrams into 384 dimensions,
/// L2-normalised. Deterministic, no model download; texts that share words and word fragments get
/// similar vectors (a lexical, not a semantic, similarity).
struct HashingEmbedder: Embedder {
    static let dimensions = 384
    let id = "hashing-384-v1"

    func embed(_ texts: [String]) async throws -> [[Float]] { texts.map(Self.vector) }

    static func vector(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        for word in Tokenizer.words(text) {
            add(Array(word.utf8), weight: 1, to: &vector)
            let padded = Array(" \(word) ".utf8)
            if padded.count > 3 {
                for start in 0...(padded.count - 3) { add(Array(padded[start..<start + 3]), weight: 0.5, to: &vector) }
            }
        }
        return VectorMath.normalized(vector)
    }

    /// Adds `weight` at the feature's hashed dimension, with a hashed sign so collisions cancel out on average.
    private static func add(_ feature: [UInt8], weight: Float, to vector: inout [Float]) {
        let hash = fnv1a(feature)
        vector[Int(hash % UInt64(dimensions))] += hash & (1 << 63) == 0 ? weight : -weight
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

/// Lower-cased words: runs of letters and digits.
enum Tokenizer {
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }
}
