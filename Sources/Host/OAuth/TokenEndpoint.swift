import PluginAPI

/// Tokens a token endpoint granted. Never logged, never returned by any API.
struct TokenGrant: Sendable {
    let accessToken: String
    let refreshToken: String?
    /// Seconds the access token lives, when the provider says.
    let expiresIn: Double?
    /// The scopes granted, when the provider says (else the ones requested).
    let scope: String?
}

/// Why a token endpoint call failed.
enum TokenEndpointError: Error, CustomStringConvertible {
    /// The provider refused the grant (`invalid_grant`, Slack's `ok: false`, any other 4xx): `code` is its
    /// error code, reduced to `[a-z0-9_.]`, at most 64 characters.
    case refused(code: String, status: Int)
    /// Worth trying again later: transport failure, 429, 5xx, an unreadable success, rejected client credentials.
    case transient(String)

    var description: String {
        switch self {
        case .refused(let code, let status): "the provider refused (\(status) \(code))"
        case .transient(let reason): "the provider could not be reached or failed: \(reason)"
        }
    }
}

/// Calls a provider's token and revocation endpoints for one ``OAuthClient``.
struct TokenEndpoint: Sendable {
    let client: OAuthClient
    let http: any HTTPClient

    /// Exchanges an authorization code (RFC 6749 §4.1.3), with the PKCE verifier when there is one.
    func exchange(code: String, callbackURL: String, verifier: String?) async throws(TokenEndpointError) -> TokenGrant {
        var form: [(name: String, value: String)] = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", callbackURL)]
        if let verifier { form.append(("code_verifier", verifier)) }
        return try await requestTokens(form)
    }

    /// Refreshes an access token (RFC 6749 §6).
    func refresh(refreshToken: String) async throws(TokenEndpointError) -> TokenGrant {
        try await requestTokens([("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    /// Revokes the grant at the provider, in the provider's declared style; throws when it refused or failed.
    func revoke(accessToken: String?, refreshToken: String?) async throws(TokenEndpointError) {
        guard let revocation = client.spec.revocation, let url = client.revokeURL else { return }
        var request: OutboundRequest
        switch revocation.style {
        case .formToken:
            guard let token = refreshToken ?? accessToken else { return }
            request = OutboundRequest(
                method: .POST, url: url, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(FormURLEncoded.encode([("token", token)]).utf8))
        case .bearerAccessToken:
            guard let accessToken else { return }
            request = OutboundRequest(method: .POST, url: url, headers: ["Authorization": "Bearer \(accessToken)"])
        case .deleteRefreshToken:
            guard let refreshToken else { return }
            request = OutboundRequest(method: .DELETE, url: url + "/" + FormURLEncoded.percentEncode(refreshToken))
        }
        let response = try await send(request)
        if (200..<300).contains(response.status), (try? JSONValue.parse(response.body))?["ok"]?.boolValue != false { return }  // Any body: only Slack's ok:false refuses.
        throw Self.failure(response)
    }

    private func requestTokens(_ form: [(name: String, value: String)]) async throws(TokenEndpointError) -> TokenGrant {
        var form = form
        if client.spec.sendsScopeToTokenEndpoint { form.append(("scope", client.scopes.joined(separator: client.spec.scopeSeparator))) }
        var headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"]
        switch client.spec.clientAuthentication {
        case .basic:
            let credentials = FormURLEncoded.percentEncode(client.clientID) + ":" + FormURLEncoded.percentEncode(client.clientSecret)
            headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array(credentials.utf8)))
        case .formBody:
            form += [("client_id", client.clientID), ("client_secret", client.clientSecret)]
        }
        let response = try await send(OutboundRequest(method: .POST, url: client.tokenURL, headers: headers, body: Array(FormURLEncoded.encode(form).utf8)))
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        // A success that cannot be read (a proxy's HTML page, a truncated or oversized body) says nothing about the grant: try again later.
        guard response.body.count <= Self.maximumResponseBytes, let body = try? JSONValue.parse(response.body), body.objectValue != nil else {
            throw .transient("HTTP \(response.status) with a body that is not a JSON object of at most \(Self.maximumResponseBytes) bytes")
        }
        guard body["ok"]?.boolValue != false, let accessToken = body["access_token"]?.stringValue, !accessToken.isEmpty else { throw Self.failure(response) }
        return TokenGrant(
            accessToken: accessToken, refreshToken: body["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            expiresIn: body["expires_in"]?.numberValue ?? body["expires_in"]?.stringValue.flatMap(Double.init), scope: body["scope"]?.stringValue)
    }

    private func send(_ request: OutboundRequest) async throws(TokenEndpointError) -> OutboundResponse {
        do { return try await http.send(request) } catch {
            throw .transient("request to \(Self.host(request.url)) failed")  // Only the host: the URL of a DELETE holds a token.
        }
    }

    /// The largest token endpoint answer read (real ones are a few kilobytes).
    static let maximumResponseBytes = 65_536

    /// Error codes that blame the hub's client credentials, not the user's grant (RFC 6749 §5.2; Slack's
    /// names): a refresh failing with one is retried, so fixing the configuration saves every connection.
    static let clientErrors: Set<String> = ["invalid_client", "unauthorized_client", "invalid_client_id", "bad_client_secret", "bad_client_id"]

    /// The error of a failed response: transient for 429, 5xx and client-credential errors, otherwise
    /// refused with the provider's code (never its description, which may echo what was sent).
    private static func failure(_ response: OutboundResponse) -> TokenEndpointError {
        if response.status == 429 || response.status >= 500 { return .transient("HTTP \(response.status)") }
        let body = response.body.count <= maximumResponseBytes ? try? JSONValue.parse(response.body) : nil
        // RFC 6749 `error`; HubSpot's v1 token endpoint answers `{"status": "BAD_REFRESH_TOKEN", "message": …}` instead.
        let code = sanitize(body?["error"]?.stringValue ?? body?["status"]?.stringValue ?? "http_\(response.status)")
        if clientErrors.contains(code) { return .transient("the provider refused the hub's client credentials (\(response.status) \(code)): check the client id and secret") }
        return .refused(code: code, status: response.status)
    }

    /// An error code safe to log, audit and put in a redirect: `[a-z0-9_.]`, at most 64 characters.
    static func sanitize(_ code: String) -> String {
        let kept = code.lowercased().unicodeScalars.filter { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" || $0 == "." }
        let text = String(String.UnicodeScalarView(kept.prefix(64)))
        return text.isEmpty ? "unknown_error" : text
    }

    private static func host(_ url: String) -> String {
        url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? "the provider"
    }
}
