/// A JSON Web Token in compact JWS form (`header.payload.signature`), decoded but not yet trusted.
///
/// Decoding checks structure only. Trust comes from ``JWKSCache/verifySignature(of:)`` (RS256 only)
/// and then the claim checks below:
///
/// ```swift
/// let token = try JWT(compact: request.authorization(scheme: "Bearer"))
/// try await keys.verifySignature(of: token)
/// try token.checkLifetime(now: clock.now(), leeway: 300)
/// try token.checkAudience("https://hooks.example.com/api/webhooks/gmail")
/// ```
public struct JWT: Sendable {
    /// The JOSE header (`alg`, `kid`, `typ`).
    public let header: JSONObject
    /// The claims set (`iss`, `aud`, `exp`, ...).
    public let claims: JSONObject
    /// The bytes the signature covers: the first two segments as sent, with the dot between them.
    public let signingInput: [UInt8]
    /// The decoded signature (empty for an unsecured `alg: none` token).
    public let signature: [UInt8]

    /// Longer tokens are refused before decoding; real OIDC tokens are about 1 KiB.
    public static let maximumLength = 16 * 1024

    /// Decodes a compact JWS: exactly three segments of unpadded base64url, whose first two are JSON objects.
    public init<Text: StringProtocol>(compact token: Text) throws(JWTError) {
        guard token.utf8.count <= Self.maximumLength else { throw .malformed("longer than \(Self.maximumLength) bytes") }
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else { throw .malformed("a JWT has 3 dot-separated segments, this one has \(segments.count)") }
        header = try Self.object(segments[0], name: "header")
        claims = try Self.object(segments[1], name: "claims")
        guard let signature = Base64.decodeURLSafeUnpadded(segments[2]) else { throw .malformed("the signature is not unpadded base64url") }
        self.signature = signature
        signingInput = Array(segments[0].utf8) + [UInt8(ascii: ".")] + Array(segments[1].utf8)
    }

    private static func object<Text: StringProtocol>(_ segment: Text, name: String) throws(JWTError) -> JSONObject {
        guard !segment.isEmpty, let bytes = Base64.decodeURLSafeUnpadded(segment) else {
            throw .malformed("the \(name) is not unpadded base64url")
        }
        guard let value = try? JSONValue.parse(bytes), let object = value.objectValue else {  // The parse error's detail adds nothing here.
            throw .malformed("the \(name) is not a JSON object")
        }
        return object
    }

    /// The `alg` header.
    public var algorithm: String? { header["alg"]?.stringValue }
    /// The `kid` header.
    public var keyID: String? { header["kid"]?.stringValue }

    /// The `kid` of an RS256 token. Throws for any other `alg` (`none`, `HS256`, ...), a `crit`
    /// header (no extensions are understood, RFC 7515 §4.1.11) or a missing `kid`; callers look up no key before this passes.
    public func rs256KeyID() throws(JWTError) -> String {
        guard algorithm == "RS256" else { throw .unsupportedAlgorithm(algorithm ?? "<missing>") }
        guard header["crit"] == nil else { throw .malformed("the crit header lists extensions this verifier does not understand") }
        guard let kid = keyID, !kid.isEmpty else { throw .missingKeyID }
        guard kid.utf8.count <= 256 else { throw .malformed("the kid is longer than 256 bytes") }  // Real kids are 40 hex digits or so.
        return kid
    }

    /// Checks the RS256 signature with `key`.
    public func verifySignature(with key: RSAPublicKey) throws(JWTError) {
        _ = try rs256KeyID()
        guard key.verifyPKCS1SHA256(signature: signature, message: signingInput) else { throw .invalidSignature }
    }
}

extension JWT {
    /// A string claim.
    public func string(_ claim: String) -> String? { claims[claim]?.stringValue }

    /// Checks the time claims, allowing `leeway` seconds of clock skew: `exp` (required) is not past,
    /// `iat` (required) is not in the future, `nbf` (optional) is not in the future.
    public func checkLifetime(now: Double, leeway: Double) throws(JWTError) {
        let expiresAt = try time("exp")
        let issuedAt = try time("iat")
        guard let expiresAt else { throw .invalidClaim("the token has no exp claim") }
        guard let issuedAt else { throw .invalidClaim("the token has no iat claim") }
        guard now < expiresAt + leeway else { throw .invalidClaim("the token has expired") }
        guard issuedAt <= now + leeway else { throw .invalidClaim("the token was issued in the future (iat)") }
        if let notBefore = try time("nbf"), notBefore > now + leeway {
            throw .invalidClaim("the token is not valid yet (nbf)")
        }
    }

    /// Checks that `iss` is one of `issuers`.
    public func checkIssuer(_ issuers: [String]) throws(JWTError) {
        guard let issuer = string("iss"), issuers.contains(issuer) else { throw .invalidClaim("the token's issuer (iss) is not accepted") }
    }

    /// Checks that `aud` (a string or an array of strings) contains `audience`.
    public func checkAudience(_ audience: String) throws(JWTError) {
        let audiences: [String] =
            switch claims["aud"] {
            case .string(let value): [value]
            case .array(let values): values.compactMap(\.stringValue)
            default: []
            }
        guard audiences.contains(audience) else { throw .invalidClaim("the token's audience (aud) is not this endpoint") }
    }

    /// A NumericDate claim (seconds since 1970); nil when absent, throws when not a number.
    private func time(_ claim: String) throws(JWTError) -> Double? {
        guard let value = claims[claim] else { return nil }
        guard let seconds = value.numberValue, seconds.isFinite else { throw .invalidClaim("the \(claim) claim is not a number") }
        return seconds
    }
}
