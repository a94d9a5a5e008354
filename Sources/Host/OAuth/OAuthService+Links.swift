import PluginAPI

/// Authorize links: `/oauth/{provider}/authorize` is opened by a browser that cannot carry the admin
/// token, so the admin API (called by the app that authenticated the user) issues a single-use,
/// 10-minute link bound to one user, provider and redirect URI; authorize refuses a request without one.
/// Otherwise anyone who knows a user id could attach their own provider account to that user.
extension OAuthService {
    /// The query parameter carrying the link token.
    static let linkParameter = "link"

    /// `POST /api/admin/users/{id}/oauth-links` `{"provider": "gmail", "redirect_uri": "…"}` →
    /// 201 `{"url": "<public URL>/oauth/gmail/authorize?user_id=…&redirect_uri=…&link=…", "expires_at": …}`.
    func issueLink(_ request: Request) async throws -> Response {
        let userID = request.pathParameters["id"] ?? ""
        guard UserStore.isValidID(userID) else { throw HTTPError(status: 400, error: "invalid_user_id", detail: "the user id must match ^[A-Za-z0-9_-]{1,64}$") }
        let body = try request.jsonBody()
        guard body.objectValue != nil else { throw HTTPError.badRequest("the body must be a JSON object with provider and redirect_uri") }
        guard let provider = body["provider"]?.stringValue else { throw HTTPError.badRequest("provider must be a string, such as \"gmail\"") }
        guard let redirectURI = body["redirect_uri"]?.stringValue else { throw HTTPError.badRequest("redirect_uri must be a string") }
        _ = try client(provider)
        try checkRedirect(redirectURI, provider: provider, request: request)
        let authorizeURL = try hubURL(provider, "authorize")
        guard try await users.user(userID) != nil else {
            throw HTTPError(status: 404, error: "unknown_user", detail: "no user '\(userID)'; create it first with POST /api/admin/users")
        }
        _ = try await keyring.key()  // No link that authorize would refuse for want of a token store.
        let token = OAuthState.make()  // 32 random bytes, like a state; only its hash is stored.
        let now = self.now
        let link = AuthorizeLink(provider: provider, userID: userID, redirectURI: redirectURI, expiresAt: now + Int64(OAuthState.lifetime * 1000))
        guard try await store.insertLink(hash: OAuthState.hash(token), link, now: now) else {
            throw HTTPError(
                status: 429, error: "too_many_pending_links",
                detail: "user '\(userID)' has \(OAuthStore.maximumPending) unused \(provider) authorize links; use one or wait up to 10 minutes",
                headers: ["Retry-After": "\(Int(OAuthState.lifetime))"])
        }
        var event = AuditEvent(.oauthLinkIssued, severity: .info, request: request, details: ["provider": .string(provider), "user": .string(userID)])
        event.userID = "admin"
        audit.record(event)
        let url = authorizeURL + "?" + FormURLEncoded.encode([("user_id", userID), ("redirect_uri", redirectURI), (Self.linkParameter, token)])
        var response = Response.json(["url": .string(url), "expires_at": .number(Double(link.expiresAt) / 1000)], status: 201)
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    /// A refused authorize request (403 without a valid link), audited as `oauth_authorize_rejected`
    /// (one row per reason and address a minute).
    func rejectAuthorize(_ request: Request, provider: String, status: Int = 403, reason: String, detail: String) -> HTTPError {
        audit.recordThrottled(
            AuditEvent(.oauthAuthorizeRejected, severity: .warning, request: request, details: ["provider": .string(provider), "reason": .string(reason)]),
            key: "authorize|\(reason)|\(request.remoteAddress)")
        return HTTPError(status: status, error: reason, detail: detail)
    }
}
