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

    /// HMAC-SHA256 of `message` under `key` (32 bytes). One-off; to MAC many messages under one key,
    /// keep an ``HMACKey``.
    public static func hmacSHA256<Key: Collection, Message: Collection>(key: Key, message: Message) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        var mac = HMACKey(Array(key)).start()
        withContiguousBytes(message) { mac.update($0) }
        return mac.finalize()
    }
}

/// An HMAC-SHA256 key, prepared once (RFC 2104): the SHA-256 states after absorbing the key's inner
/// and outer pads are kept, and each message starts from copies of them. So verifying a request
/// costs two digest-state copies and the message's own hashing: no algorithm lookup, no re-keying,
/// and none of the generic MAC layer's per-message context setup.
public final class HMACKey: @unchecked Sendable {  // Safe: both states are written in init only; copies only read them.
    fileprivate let inner: OpaquePointer
    fileprivate let outer: OpaquePointer

    /// SHA-256, fetched from OpenSSL's provider once per process.
    nonisolated(unsafe) fileprivate static let sha256: OpaquePointer = {  // Safe: immutable after creation; EVP_MD is thread-safe.
        guard let digest = EVP_MD_fetch(nil, "SHA256", nil) else { preconditionFailure("OpenSSL has no SHA-256") }
        return digest
    }()

    /// SHA-256's block size, which the key is padded (or first hashed) to.
    private static let blockSize = 64

    public init(_ key: [UInt8]) {
        var block = key.count > Self.blockSize ? Digest.sha256(key) : key
        block += [UInt8](repeating: 0, count: Self.blockSize - block.count)
        inner = Self.absorb(block.map { $0 ^ 0x36 })
        outer = Self.absorb(block.map { $0 ^ 0x5C })
    }

    /// A SHA-256 state that has absorbed `pad`.
    private static func absorb(_ pad: [UInt8]) -> OpaquePointer {
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        let ok = EVP_DigestInit_ex2(context, sha256, nil) == 1 && pad.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) } == 1
        precondition(ok, "SHA-256 of an HMAC pad failed")
        return context
    }

    deinit {
        EVP_MD_CTX_free(inner)
        EVP_MD_CTX_free(outer)
    }

    /// A fresh MAC computation under this key.
    public func start() -> HMACSHA256 { HMACSHA256(key: self) }

    /// The MAC of `message`.
    public func authenticate(_ message: [UInt8]) -> [UInt8] {
        var mac = start()
        mac.update(message)
        return mac.finalize()
    }
}

/// Streaming HMAC-SHA256 (RFC 2104 over OpenSSL's SHA-256), for messages assembled from several parts.
public struct HMACSHA256: ~Copyable {
    private let key: HMACKey
    private let context: OpaquePointer

    /// Starts a MAC under `key`. To MAC many messages under one key, keep an ``HMACKey`` instead.
    public init(key: [UInt8]) {
        self.init(key: HMACKey(key))
    }

    fileprivate init(key: HMACKey) {
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        precondition(EVP_MD_CTX_copy_ex(context, key.inner) == 1, "EVP_MD_CTX_copy_ex failed")
        self.key = key
        self.context = context
    }

    /// Feeds more of the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "EVP_DigestUpdate failed")
    }

    /// Feeds more of the message.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the UTF-8 bytes of `text`.
    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Returns the 32-byte MAC; the value cannot be used afterwards.
    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { buffer in
            var length: UInt32 = 0
            // SHA-256(outer pad ‖ SHA-256(inner pad ‖ message)), the outer hash reusing this context.
            let ok =
                EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1 && length == 32
                && EVP_MD_CTX_copy_ex(context, key.outer) == 1
                && EVP_DigestUpdate(context, buffer.baseAddress, 32) == 1
                && EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1 && length == 32
            precondition(ok, "HMAC-SHA256 finalization failed")
        }
        return out
    }

    deinit { EVP_MD_CTX_free(context) }
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
