import COpenSSL

/// Cryptographic hashes and MACs, computed by OpenSSL.
///
/// These are the only implementations in Atom Hub: providers call them, never their own copies.
public enum Digest {
    /// SHA-256 of `data` (32 bytes).
    public static func sha256<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        withContiguousBytes(data) { buffer in
            out.withUnsafeMutableBufferPointer { outPtr in
                var length: UInt32 = 0
                let ok = EVP_Digest(buffer.baseAddress, buffer.count, outPtr.baseAddress, &length, EVP_sha256(), nil)
                precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
            }
        }
        return out
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256<Key: Collection, Message: Collection>(key: Key, message: Message) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        withContiguousBytes(key) { keyBuffer in
            withContiguousBytes(message) { messageBuffer in
                out.withUnsafeMutableBufferPointer { outPtr in
                    var length: UInt32 = 0
                    // A zero-length key must still be a valid pointer for OpenSSL.
                    let keyPointer = keyBuffer.baseAddress ?? UnsafeRawPointer(outPtr.baseAddress!)
                    let result = HMAC(
                        EVP_sha256(), keyPointer, Int32(keyBuffer.count),
                        messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count,
                        outPtr.baseAddress, &length)
                    precondition(result != nil && length == 32, "HMAC-SHA256 failed")
                }
            }
        }
        return out
    }

    /// HMAC-SHA256 over several parts, as if they were concatenated, without building the concatenation.
    public static func hmacSHA256<Key: Collection>(key: Key, parts: [[UInt8]]) -> [UInt8] where Key.Element == UInt8 {
        var mac = HMACSHA256(key: Array(key))
        for part in parts { mac.update(part) }
        return mac.finalize()
    }
}

/// Streaming HMAC-SHA256 (OpenSSL EVP_MAC), for messages assembled from several parts.
public struct HMACSHA256: ~Copyable {
    private let context: OpaquePointer

    /// Starts a MAC under `key`.
    public init(key: [UInt8]) {
        let mac = EVP_MAC_fetch(nil, "HMAC", nil)
        precondition(mac != nil, "OpenSSL has no HMAC")
        defer { EVP_MAC_free(mac) }
        context = EVP_MAC_CTX_new(mac)!
        let ok: Int32 = "SHA256".withCString { digestName in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: digestName), 0),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBufferPointer { keyPtr in
                var zero: UInt8 = 0
                return withUnsafePointer(to: &zero) { zeroPtr in
                    EVP_MAC_init(context, keyPtr.baseAddress ?? zeroPtr, keyPtr.count, &params)
                }
            }
        }
        precondition(ok == 1, "EVP_MAC_init(HMAC-SHA256) failed")
    }

    /// Feeds more of the message.
    public mutating func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        withContiguousBytes(bytes) { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            let ok = EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), buffer.count)
            precondition(ok == 1, "EVP_MAC_update failed")
        }
    }

    /// Returns the 32-byte MAC; the value cannot be used afterwards.
    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_MAC_final(context, $0.baseAddress, &length, 32) }
        precondition(ok == 1 && length == 32, "EVP_MAC_final failed")
        return out
    }

    deinit { EVP_MAC_CTX_free(context) }
}

/// Calls `body` with the bytes of `data`, copying only when the collection is not contiguous.
@inline(__always)
func withContiguousBytes<Bytes: Collection, R>(_ data: Bytes, _ body: (UnsafeRawBufferPointer) -> R) -> R
where Bytes.Element == UInt8 {
    if let result = data.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return Array(data).withUnsafeBytes(body)
}
