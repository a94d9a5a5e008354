import PluginAPI

/// Access tokens for providers' outbound calls.
extension OAuthService {
    /// The access token of `userID`'s connection to `provider`, for the provider's outbound calls.
    func accessToken(provider: String, userID: String) async throws(OAuthTokenError) -> String {
        guard declarations[provider] != nil else { throw .notConfigured(provider: provider) }
        do {
            guard let connection = try await store.connections(provider: provider, userID: userID, limit: 1).first else {
                throw OAuthTokenError.notConnected(provider: provider, userID: userID)
            }
            if connection.status == .needsReauth { throw OAuthTokenError.needsReauth(provider: provider, userID: userID, connectionID: connection.id) }
            if let expiresAt = connection.expiresAt, expiresAt <= now {
                throw OAuthTokenError.expired(provider: provider, userID: userID, connectionID: connection.id)
            }
            guard let sealed = try await store.sealedTokens(id: connection.id).access else {
                throw OAuthTokenError.unavailable(provider: provider, reason: "the access token of connection \(connection.id) is missing")
            }
            return try SecretStore.open(sealed, with: try await keyring.key())
        } catch let error as OAuthTokenError {
            throw error
        } catch {
            throw .unavailable(provider: provider, reason: "\(error)")
        }
    }

    /// The token source handed to `provider` through its context.
    func tokens(for provider: String) -> any OAuthTokenSource { ProviderOAuthTokens(provider: provider, service: self) }
}

/// One provider's view of the OAuth service.
struct ProviderOAuthTokens: OAuthTokenSource {
    let provider: String
    let service: OAuthService

    func accessToken(userID: String) async throws(OAuthTokenError) -> String {
        try await service.accessToken(provider: provider, userID: userID)
    }
}
