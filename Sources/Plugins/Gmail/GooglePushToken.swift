import PluginAPI

/// The OIDC token Cloud Pub/Sub puts in `Authorization: Bearer` on push requests ("Authenticate
/// push subscriptions"): RS256 under a key in Google's JWKS, issued by Google to the push
/// subscription's service account, for our endpoint, and fresh.
struct GooglePushToken: Sendable {
    /// The two spellings of Google's issuer.
    static let issuers = ["accounts.google.com", "https://accounts.google.com"]
    /// Allowed clock skew for `exp`, `iat` and `nbf`.
    static let leeway = 300.0

    let keys: JWKSCache
    let audience: String
    let serviceAccountEmail: String
    let clock: any WallClock

    /// Throws 401 `invalid_token` unless `request` carries a valid push token (503 when Google's keys
    /// cannot be fetched). The algorithm is checked before any key lookup, the signature before any claim.
    func verify(_ request: Request) async throws(HTTPError) {
        let bearer = try request.authorization(scheme: "Bearer")
        do throws(JWTError) {
            let token = try JWT(compact: bearer)
            try await keys.verifySignature(of: token)
            try token.checkLifetime(now: clock.now(), leeway: Self.leeway)
            try token.checkIssuer(Self.issuers)
            try token.checkAudience(audience)
            guard token.string("email")?.lowercased() == serviceAccountEmail.lowercased() else {
                throw .invalidClaim("the token's email is not the configured push service account")
            }
            guard token.claims["email_verified"] == .bool(true) else { throw .invalidClaim("the token's email is not verified") }
        } catch {
            throw error.httpError
        }
    }
}
