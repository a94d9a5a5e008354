import COpenSSL
import PluginAPI

/// An RSA key pair generated at test time, to sign tokens the way an identity provider does.
public final class RSATestKey: @unchecked Sendable {
    // Safe: the EVP_PKEY is never modified after generation; each signature has its own EVP_MD_CTX.
    private let key: OpaquePointer
    /// The key id published in the JWK and put in token headers.
    public let kid: String
    /// The big-endian modulus and public exponent (the JWK's `n` and `e`, decoded).
    public let modulus: [UInt8]
    public let exponent: [UInt8]

    /// Generates a fresh key (2048 bits takes a few tens of milliseconds).
    public init(kid: String, bits: Int32 = 2048) {
        let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil)
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        let ok = EVP_PKEY_keygen_init(context) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1 && EVP_PKEY_generate(context, &key) == 1
        precondition(ok && key != nil, "RSA key generation failed")
        self.key = key!
        self.kid = kid
        modulus = Self.parameter(OSSL_PKEY_PARAM_RSA_N, of: key!)
        exponent = Self.parameter(OSSL_PKEY_PARAM_RSA_E, of: key!)
    }

    deinit { EVP_PKEY_free(key) }

    /// The public key as a JWK, as Google's and Microsoft's key sets publish it.
    public var jwk: JSONValue {
        ["kty": "RSA", "kid": .string(kid), "use": "sig", "alg": "RS256", "n": .string(Base64.encodeURLSafe(modulus)), "e": .string(Base64.encodeURLSafe(exponent))]
    }

    /// A key set document holding `keys`.
    public static func jwks(_ keys: [RSATestKey]) -> [UInt8] {
        JSONValue.object(["keys": .array(keys.map(\.jwk))]).serialized()
    }

    /// An RS256 token over `claims`; the header defaults to `{"alg":"RS256","kid":<kid>,"typ":"JWT"}`.
    public func token(claims: JSONValue, header: JSONValue? = nil) -> String {
        let header = header ?? ["alg": "RS256", "kid": .string(kid), "typ": "JWT"]
        let input = TestJWT.signingInput(header: header, claims: claims)
        return input + "." + Base64.encodeURLSafe(sign(Array(input.utf8)))
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        precondition(EVP_DigestSignInit_ex(context, nil, "SHA256", nil, nil, key, nil) == 1, "EVP_DigestSignInit_ex failed")
        var length = 0
        precondition(EVP_DigestSign(context, nil, &length, message, message.count) == 1, "EVP_DigestSign (size) failed")
        var signature = [UInt8](repeating: 0, count: length)
        precondition(EVP_DigestSign(context, &signature, &length, message, message.count) == 1, "EVP_DigestSign failed")
        return Array(signature.prefix(length))
    }

    private static func parameter(_ name: String, of key: OpaquePointer) -> [UInt8] {
        var number: OpaquePointer?
        precondition(EVP_PKEY_get_bn_param(key, name, &number) == 1, "EVP_PKEY_get_bn_param(\(name)) failed")
        defer { BN_free(number) }
        var bytes = [UInt8](repeating: 0, count: (Int(BN_num_bits(number)) + 7) / 8)
        _ = BN_bn2bin(number, &bytes)
        return bytes
    }
}
