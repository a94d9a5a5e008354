import PluginAPI

/// Hand-made tokens for the attacks an RS256 verifier must refuse.
public enum TestJWT {
    /// `base64url(header) + "." + base64url(claims)`.
    public static func signingInput(header: JSONValue, claims: JSONValue) -> String {
        Base64.encodeURLSafe(header.serialized()) + "." + Base64.encodeURLSafe(claims.serialized())
    }

    /// An unsecured token (`alg: none`, empty signature).
    public static func unsecured(claims: JSONValue, kid: String) -> String {
        signingInput(header: ["alg": "none", "kid": .string(kid), "typ": "JWT"], claims: claims) + "."
    }

    /// An HS256 token whose HMAC key is the RSA public key's JWK text: the algorithm-confusion attack
    /// that succeeds against verifiers that let the token choose the algorithm.
    public static func hs256(claims: JSONValue, publicKey: RSATestKey) -> String {
        let input = signingInput(header: ["alg": "HS256", "kid": .string(publicKey.kid), "typ": "JWT"], claims: claims)
        return input + "." + Base64.encodeURLSafe(Digest.hmacSHA256(key: publicKey.jwk.serialized(), message: Array(input.utf8)))
    }
}
