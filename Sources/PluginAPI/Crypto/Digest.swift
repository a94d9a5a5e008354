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

/// An HMAC-SHA256 key, prepared once: OpenSSL's keyed context is kept as a template and copied for
/// each message, so verifying a request costs no algorithm lookup and no re-keying.
public final class HMACKey: @unchecked Sendable {  // Safe: the template is written in init only; dup reads it.
    fileprivate let template: OpaquePointer

    /// The HMAC implementation, fetched from OpenSSL's provider once per process.
    nonisolated(unsafe) fileprivate static let algorithm: OpaquePointer = {  // Safe: immutable after creation; EVP_MAC is thread-safe.
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { preconditionFailure("OpenSSL has no HMAC") }
        return mac
    }()

    public init(_ key: [UInt8]) {
        template = EVP_MAC_CTX_new(Self.algorithm)!
        let ok: Int32 = "SHA256".withCString { digestName in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: digestName), 0),
                OSSL_PARAM_construct_end(),
            ]
            var zero: UInt8 = 0
            return key.withUnsafeBufferPointer { keyPtr in
                EVP_MAC_init(template, keyPtr.baseAddress ?? withUnsafePointer(to: &zero) { $0 }, keyPtr.count, &params)
            }
        }
        precondition(ok == 1, "EVP_MAC_init(HMAC-SHA256) failed")
    }

    deinit { EVP_MAC_CTX_free(template) }

    /// A fresh MAC computation under this key.
    public func start() -> HMACSHA256 { HMACSHA256(copying: template) }

    /// The MAC of `message`.
    public func authenticate(_ message: [UInt8]) -> [UInt8] {
        var mac = start()
        mac.update(message)
        return mac.finalize()
    }
}

/// Streaming HMAC-SHA256 (OpenSSL EVP_MAC), for messages assembled from several parts.
public struct HMACSHA256: ~Copyable {
    private let context: OpaquePointer

    /// Starts a MAC under `key`. To MAC many messages under one key, keep an ``HMACKey`` instead.
    public init(key: [UInt8]) {
        let prepared = HMACKey(key)
        self = withExtendedLifetime(prepared) { HMACSHA256(copying: prepared.template) }
    }

    fileprivate init(copying template: OpaquePointer) {
        guard let context = EVP_MAC_CTX_dup(template) else { preconditionFailure("EVP_MAC_CTX_dup failed") }
        self.context = context
    }

    /// Feeds more of the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let ok = EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        precondition(ok == 1, "EVP_MAC_update failed")
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
