/// A provider's view of its users' OAuth connections: the current access token for outbound calls.
///
/// ```swift
/// let token = try await context.oauth.accessToken(userID: "alice")
/// request.headers.add(name: "Authorization", value: "Bearer \(token)")
/// ```
///
/// The host refreshes tokens in the background before they expire; when it cannot (the user revoked
/// access), the connection needs re-authorization and this throws ``OAuthTokenError/needsReauth(provider:userID:connectionID:)``.
public protocol OAuthTokenSource: Sendable {
    /// The access token of `userID`'s connection to this provider.
    func accessToken(userID: String) async throws(OAuthTokenError) -> String
}

/// Why no access token can be handed out.
public enum OAuthTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provider declares no OAuth endpoints, or the host has no OAuth support.
    case notConfigured(provider: String)
    /// The user has not connected this provider.
    case notConnected(provider: String, userID: String)
    /// A refresh failed for good (revoked or expired grant): the user must connect again.
    case needsReauth(provider: String, userID: String, connectionID: Int64)
    /// The access token has expired and no refresh has replaced it yet.
    case expired(provider: String, userID: String, connectionID: Int64)
    /// The token store cannot be read (no encryption key, database error).
    case unavailable(provider: String, reason: String)

    public var description: String {
        switch self {
        case .notConfigured(let provider): "\(provider) has no OAuth connections configured"
        case .notConnected(let provider, let user): "user '\(user)' has not connected \(provider)"
        case .needsReauth(let provider, let user, let id):
            "the \(provider) connection \(id) of user '\(user)' needs re-authorization: its refresh was refused; send the user through /oauth/\(provider)/authorize again with a new link from POST /api/admin/users/\(user)/oauth-links"
        case .expired(let provider, let user, let id): "the \(provider) access token of user '\(user)' (connection \(id)) has expired and was not refreshed yet"
        case .unavailable(let provider, let reason): "the \(provider) token store is unavailable: \(reason)"
        }
    }
}

/// The token source of a host without OAuth: every lookup throws ``OAuthTokenError/notConfigured(provider:)``.
public struct NoOAuthTokens: OAuthTokenSource {
    public let provider: String
    public init(provider: String = "") { self.provider = provider }
    public func accessToken(userID: String) async throws(OAuthTokenError) -> String { throw .notConfigured(provider: provider) }
}
