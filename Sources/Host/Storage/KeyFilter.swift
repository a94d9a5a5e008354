/// A Bloom filter over event keys: `mightContain` is false only for a key never added, so a "no"
/// saves the event log a lookup in `event_keys` and a "yes" (about 1 % of the time for a new key when
/// the filter holds `bitCount / 10` keys) only costs that lookup.
struct KeyFilter: Sendable {
    private var words: [UInt64]
    /// Seven probes: the best false-positive rate at ten bits per key.
    private static let probes: UInt64 = 7

    /// Bits in the filter, a power of two.
    var bitCount: Int { words.count * 64 }

    /// An empty filter of `bits` bits (rounded up to a power of two, at least 64).
    init(bits: Int) {
        var size = 64
        while size < bits { size *= 2 }
        words = Array(repeating: 0, count: size / 64)
    }

    /// The size for `keys` keys at ten bits each, with room for as many again, and at least `minimum`
    /// (rounded up to a power of two by `init`: 20 to 40 bits a key).
    static func bits(forKeys keys: Int, minimum: Int) -> Int { max(minimum, 20 * keys) }

    mutating func add(_ key: EventKeys.Key) {
        let mask = UInt64(bitCount - 1)
        var (position, step) = Self.hashes(key)
        for _ in 0..<Self.probes {
            let bit = position & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
            position &+= step
        }
    }

    func mightContain(_ key: EventKeys.Key) -> Bool {
        let mask = UInt64(bitCount - 1)
        var (position, step) = Self.hashes(key)
        for _ in 0..<Self.probes {
            let bit = position & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            position &+= step
        }
        return true
    }

    /// Two hashes for double hashing: the key's own (seeded per process, which is fine for a filter
    /// that lives in memory only) and an odd second one mixed from it (splitmix64's finalizer).
    private static func hashes(_ key: EventKeys.Key) -> (UInt64, UInt64) {
        let first = UInt64(bitPattern: Int64(key.hashValue))
        var mixed = first &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return (first, (mixed ^ (mixed >> 31)) | 1)
    }
}
