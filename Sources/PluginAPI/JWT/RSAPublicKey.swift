import COpenSSL

/// An RSA public key held by OpenSSL, for checking RSASSA-PKCS1-v1_5 SHA-256 (RS256) signatures.
public final class RSAPublicKey: @unchecked Sendable {
    // Safe: the EVP_PKEY is never modified after init, and OpenSSL allows one key to be used by
    // several threads at once for verification (each verification has its own EVP_MD_CTX).
    private let key: OpaquePointer

    /// Smaller moduli are refused: NIST and RFC 7518 §3.3 require at least 2048 bits for RS256.
    public static let minimumModulusBits = 2048
    /// Larger moduli are refused, so a hostile key set cannot make verification arbitrarily slow.
    public static let maximumModulusBits = 8192

    /// The key with big-endian `modulus` and public `exponent` (a JWK's decoded `n` and `e`).
    public init(modulus: [UInt8], exponent: [UInt8]) throws(JWTError) {
        let n = Array(modulus.drop(while: { $0 == 0 }))
        let e = Array(exponent.drop(while: { $0 == 0 }))
        let bits = n.isEmpty ? 0 : n.count * 8 - n[0].leadingZeroBitCount
        guard bits >= Self.minimumModulusBits, bits <= Self.maximumModulusBits else {
            throw .invalidKey("the modulus has \(bits) bits; \(Self.minimumModulusBits) to \(Self.maximumModulusBits) are accepted")
        }
        guard !e.isEmpty, e.count <= 8, e[e.count - 1] & 1 == 1, e != [1] else {
            throw .invalidKey("the public exponent must be an odd number greater than 1 of at most 64 bits")
        }
        guard let key = Self.makeKey(n: n, e: e) else {
            ERR_clear_error()
            throw .invalidKey("OpenSSL refused the modulus and exponent")
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// The modulus size in bits.
    public var bits: Int { Int(EVP_PKEY_get_bits(key)) }

    /// True when `signature` is a valid RSASSA-PKCS1-v1_5 signature of SHA-256(`message`) under this key.
    public func verifyPKCS1SHA256(signature: [UInt8], message: [UInt8]) -> Bool {
        // A signature is exactly as long as the modulus (RFC 8017 §8.2.2 step 1).
        guard signature.count == Int(EVP_PKEY_get_size(key)), let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()  // A failed verification leaves errors in this thread's queue; leave none behind.
        }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit_ex(context, &keyContext, "SHA256", nil, nil, key, nil) == 1,
            EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1
        else { return false }
        let result = signature.withUnsafeBufferPointer { signaturePointer in
            message.withUnsafeBufferPointer { messagePointer in
                EVP_DigestVerify(context, signaturePointer.baseAddress, signaturePointer.count, messagePointer.baseAddress, messagePointer.count)
            }
        }
        return result == 1
    }

    /// An EVP_PKEY from `n` and `e` through the OpenSSL 3 parameter API; nil when OpenSSL refuses them.
    private static func makeKey(n: [UInt8], e: [UInt8]) -> OpaquePointer? {
        let modulus = n.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let exponent = e.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let builder = OSSL_PARAM_BLD_new()
        let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil)
        defer {
            BN_free(modulus)
            BN_free(exponent)
            OSSL_PARAM_BLD_free(builder)
            EVP_PKEY_CTX_free(context)
        }
        guard let modulus, let exponent, let builder, let context,
            push(builder, "n", modulus), push(builder, "e", exponent),
            let parameters = OSSL_PARAM_BLD_to_param(builder)
        else { return nil }
        defer { OSSL_PARAM_free(parameters) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
            EVP_PKEY_fromdata(context, &key, atom_evp_pkey_public_key_selection(), parameters) == 1
        else { return nil }
        return key
    }

    /// Adds a BIGNUM parameter. The builder keeps the name's pointer until `OSSL_PARAM_BLD_to_param`,
    /// so the name must outlive the call: a static string does, a bridged Swift `String` would not.
    private static func push(_ builder: OpaquePointer, _ name: StaticString, _ number: OpaquePointer) -> Bool {
        OSSL_PARAM_BLD_push_BN(builder, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), number) == 1
    }
}
