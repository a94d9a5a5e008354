import PluginAPI

/// Deleting connections, with revocation at the provider.
extension OAuthService {
    /// Revokes the connection's grant at the provider where it supports revocation, then deletes it
    /// and its sealed tokens locally (also when revocation failed: the answer says so).
    func deleteConnection(_ id: Int64, request: Request) async throws -> JSONObject {
        guard let connection = try await store.connection(id: id) else { throw HTTPError.notFound("no connection \(id)") }
        var result: JSONObject = ["deleted": .number(Double(id))]
        if declarations[connection.provider]?.spec.revocation == nil {
            result["revoked"] = "not_supported"
        } else {
            do {
                let client = try client(connection.provider)
                let key = try await keyring.key()
                let tokens = try await store.sealedTokens(id: id)
                try await TokenEndpoint(client: client, http: http).revoke(
                    accessToken: try tokens.access.map { try SecretStore.open($0, with: key) },
                    refreshToken: try tokens.refresh.map { try SecretStore.open($0, with: key) })
                result["revoked"] = true
            } catch {
                result["revoked"] = false
                result["revoke_error"] = .string("\(error)")
                logger.warning("revoking an OAuth grant at the provider failed; deleting it locally anyway", [("connection", "\(id)"), ("error", "\(error)")])
            }
        }
        _ = try await store.delete(id: id)
        var event = AuditEvent(
            .oauthConnectionDeleted, severity: .info, request: request, details: ["provider": .string(connection.provider), "user": .string(connection.userID)])
        event.userID = "admin"
        event.details["connection_id"] = .number(Double(id))
        event.details["revoked"] = result["revoked"]
        audit.record(event)
        return result
    }
}
