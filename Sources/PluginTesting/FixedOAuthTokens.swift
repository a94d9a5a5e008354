import PluginAPI

/// An ``OAuthTokenSource`` for provider tests, answering from a table: pass it as a context's `oauth`.
///
/// ```swift
/// let tokens = FixedOAuthTokens(provider: "gmail", ["alice": .success("ya29.test"), "bob": .failure(.needsReauth(provider: "gmail", userID: "bob", connectionID: 2))])
/// ```
public struct FixedOAuthTokens: OAuthTokenSource {
    public let provider: String
    public let tokens: [String: Result<String, OAuthTokenError>]

    public init(provider: String, _ tokens: [String: Result<String, OAuthTokenError>]) {
        self.provider = provider
        self.tokens = tokens
    }

    /// The table's answer; users not in it are ``OAuthTokenError/notConnected(provider:userID:)``.
    public func accessToken(userID: String) async throws(OAuthTokenError) -> String {
        guard let result = tokens[userID] else { throw .notConnected(provider: provider, userID: userID) }
        return try result.get()
    }
}
