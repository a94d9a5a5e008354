import PluginAPI

/// A user's connection to a provider, as stored (its tokens are sealed in the secrets table, never here).
struct OAuthConnection: Sendable {
    enum Status: String, Sendable {
        case active
        /// A refresh was refused: the user must go through the authorize flow again.
        case needsReauth = "needs_reauth"
    }

    let id: Int64
    let provider: String
    let userID: String
    let status: Status
    let scopes: String
    /// When the access token expires, milliseconds since 1970; nil when the provider did not say.
    let expiresAt: Int64?
    let hasRefreshToken: Bool
    /// Incremented whenever the tokens change; a refresh job carries the generation it was queued for.
    let generation: Int64
    let lastError: String?
    let lastRefreshedAt: Int64?
    let createdAt: Int64
    let updatedAt: Int64

    /// The secret names of its tokens.
    static func accessTokenName(_ id: Int64) -> String { "oauth.\(id).access" }
    static func refreshTokenName(_ id: Int64) -> String { "oauth.\(id).refresh" }

    /// The admin API's view: everything but the tokens.
    var json: JSONValue {
        func seconds(_ milliseconds: Int64?) -> JSONValue { milliseconds.map { .number(Double($0) / 1000) } ?? .null }
        return [
            "id": .number(Double(id)), "provider": .string(provider), "user_id": .string(userID), "status": .string(status.rawValue),
            "scopes": .string(scopes), "expires_at": seconds(expiresAt), "has_refresh_token": .bool(hasRefreshToken),
            "last_error": lastError.map(JSONValue.string) ?? .null, "last_refreshed_at": seconds(lastRefreshedAt),
            "created_at": seconds(createdAt), "updated_at": seconds(updatedAt),
        ]
    }
}

/// An authorization in progress, from the authorize redirect until its callback.
struct PendingAuthorization: Sendable {
    let provider: String
    let userID: String
    /// The allowed URI the browser returns to after the callback.
    let redirectURI: String
    /// The PKCE verifier, sealed under a key derived from the state (see ``OAuthState``).
    let verifier: AESGCM.Sealed?
    /// Milliseconds since 1970.
    let expiresAt: Int64
}

/// A single-use authorize link an admin issued (`POST /api/admin/users/{id}/oauth-links`), from its
/// issue until its first use; it admits exactly one authorize request for this provider, user and redirect URI.
struct AuthorizeLink: Sendable {
    let provider: String
    let userID: String
    let redirectURI: String
    /// Milliseconds since 1970.
    let expiresAt: Int64
}
