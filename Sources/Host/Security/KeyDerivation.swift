import COpenSSL

/// PBKDF2-HMAC-SHA256 (OpenSSL), which turns `ENCRYPTION_KEY` and a random per-key salt into a 256-bit key.
enum KeyDerivation {
    /// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    static let defaultIterations = 600_000
    static let saltBytes = 16

    /// The 32-byte key for `passphrase` and `salt`.
    static func pbkdf2SHA256(passphrase: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max), "iterations out of range")
        var out = [UInt8](repeating: 0, count: 32)
        let password = Array(passphrase.utf8)
        let ok = password.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                        PKCS5_PBKDF2_HMAC(
                            passwordChars.baseAddress, Int32(passwordChars.count), saltBuffer.baseAddress, Int32(saltBuffer.count),
                            Int32(iterations), EVP_sha256(), 32, outBuffer.baseAddress)
                    }
                }
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return out
    }
}
