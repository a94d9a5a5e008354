import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG.
enum SecureRandom {
    /// `count` random bytes. Traps if the generator fails: no key may ever come from a broken one.
    static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed: the system has no usable randomness")
        return out
    }
}
