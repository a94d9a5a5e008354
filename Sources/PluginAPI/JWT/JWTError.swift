/// Why a JSON Web Token or key was refused.
public enum JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a compact JWS: wrong segment count, bad base64url, a header or claims set that is not a JSON object.
    case malformed(String)
    /// The `alg` header is not the one accepted (RS256); checked before any key is looked up.
    case unsupportedAlgorithm(String)
    /// The header has no `kid`, so no key can be chosen.
    case missingKeyID
    /// No key with this `kid` in the key set, even after a refresh.
    case unknownKey(String)
    /// The signature does not verify under the key.
    case invalidSignature
    /// A claim is missing, malformed or has the wrong value (`exp`, `aud`, `iss`, ...).
    case invalidClaim(String)
    /// A JSON Web Key could not be turned into a public key.
    case invalidKey(String)
    /// The key set could not be fetched or read, so the token cannot be checked now.
    case keySetUnavailable(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed token: \(reason)"
        case .unsupportedAlgorithm(let alg): "unsupported algorithm '\(alg)' (only RS256 is accepted)"
        case .missingKeyID: "the token header has no kid"
        case .unknownKey(let kid): "no key with kid '\(kid)' in the key set"
        case .invalidSignature: "the token signature does not verify"
        case .invalidClaim(let reason): reason
        case .invalidKey(let reason): "invalid key: \(reason)"
        case .keySetUnavailable(let reason): "the key set is unavailable: \(reason)"
        }
    }

    /// The answer to a request whose token was refused: 401 `invalid_token`, or 503
    /// `key_set_unavailable` when the keys could not be fetched (the sender should retry).
    public var httpError: HTTPError {
        if case .keySetUnavailable = self {
            return HTTPError(status: 503, error: "key_set_unavailable", detail: description, headers: ["Retry-After": "60"])
        }
        return .unauthorized("invalid_token", description)
    }
}
