import PluginAPI

/// The browser flow: the authorize redirect and the callback.
extension OAuthService {
    /// `GET /oauth/{provider}/authorize?user_id=…&redirect_uri=…&link=…` → 302 to the provider's consent page.
    ///
    /// `link` is the single-use token of a link the admin API issued for this user, provider and
    /// redirect URI (see ``issueLink(_:)``); only `ALLOW_DEV_TEMP_USERS=true` (development) admits a bare request.
    func authorize(_ request: Request) async throws -> Response {
        let provider = request.pathParameters["provider"] ?? ""
        let client = try client(provider)
        let query = request.queryParameters
        guard let userID = query["user_id"], UserStore.isValidID(userID) else {
            throw rejectAuthorize(request, provider: provider, status: 400, reason: "invalid_user_id", detail: "user_id must match ^[A-Za-z0-9_-]{1,64}$")
        }
        let redirectURI = query["redirect_uri"] ?? ""
        try checkRedirect(redirectURI, provider: provider, request: request)
        let link = query[Self.linkParameter].flatMap { $0.isEmpty ? nil : $0 }
        let callbackURL = try callbackURL(provider)
        if link == nil {
            guard allowsTemporaryUsers else {
                throw rejectAuthorize(
                    request, provider: provider, reason: "link_required",
                    detail: "open the single-use link your app gets from POST /api/admin/users/{id}/oauth-links; a bare user_id is not accepted")
            }
            logger.warning(
                "UNLINKED AUTHORIZE accepted because ALLOW_DEV_TEMP_USERS=true (development only; refused in production)", [("provider", provider), ("user", userID)])
            try await requireUser(userID, request: request)
        }
        _ = try await keyring.key()  // Refuse now, not after the user consented, if tokens could not be stored.
        let state = OAuthState.make()
        let verifier = client.spec.usesPKCE ? OAuthState.makeVerifier() : nil
        let now = self.now
        let pending = PendingAuthorization(
            provider: provider, userID: userID, redirectURI: redirectURI, verifier: verifier.map { OAuthState.sealVerifier($0, state: state) },
            expiresAt: now + Int64(OAuthState.lifetime * 1000))
        switch try await store.insertState(hash: OAuthState.hash(state), pending, linkHash: link.map(OAuthState.hash), now: now) {
        case .stored:
            return Self.redirect(client.authorizationRedirect(callbackURL: callbackURL, state: state, codeChallenge: verifier.map(PKCE.challenge)))
        case .tooManyPending:
            throw HTTPError(
                status: 429, error: "too_many_pending_authorizations",
                detail: "user '\(userID)' has \(OAuthStore.maximumPending) unfinished \(provider) authorizations; finish one or wait up to 10 minutes",
                headers: ["Retry-After": "\(Int(OAuthState.lifetime))"])
        case .linkRejected(let rejection):
            throw rejectAuthorize(request, provider: provider, reason: rejection.rawValue, detail: rejection.detail)
        }
    }

    /// Passes when `redirectURI` is exactly one of `OAUTH_ALLOWED_REDIRECT_URIS`; else 400, audited.
    func checkRedirect(_ redirectURI: String, provider: String, request: Request) throws(HTTPError) {
        guard !allowedRedirectURIs.contains(redirectURI) else { return }
        audit.recordThrottled(
            AuditEvent(
                .oauthRedirectRejected, severity: .warning, request: request,
                details: ["provider": .string(provider), "redirect_uri": .string(String(redirectURI.prefix(300)))]),
            key: "\(provider)|\(request.remoteAddress)")
        throw HTTPError(
            status: 400, error: "redirect_uri_not_allowed", detail: "redirect_uri must be exactly one of the URIs in \(Self.allowedRedirectsVariable)")
    }

    /// Passes when `userID` exists; creates it as a temporary user when `ALLOW_DEV_TEMP_USERS=true` in development.
    private func requireUser(_ userID: String, request: Request) async throws {
        if try await users.user(userID) != nil { return }
        guard allowsTemporaryUsers else {
            throw HTTPError(status: 404, error: "unknown_user", detail: "no user '\(userID)'; an admin creates users with POST /api/admin/users")
        }
        guard try await users.create(id: userID, displayName: nil, temporary: true) != nil else { return }  // Created meanwhile by another request.
        logger.warning("TEMPORARY USER CREATED because ALLOW_DEV_TEMP_USERS=true (development only; refused in production)", [("user", userID)])
        audit.record(AuditEvent(.temporaryUserCreated, severity: .warning, request: request, details: ["user": .string(userID)]))
    }

    /// `GET /oauth/{provider}/callback?code=…&state=…`: checks the state, exchanges the code, stores the
    /// tokens sealed, and sends the browser back to the allowed URI with `oauth=connected` (or `oauth=error`).
    func callback(_ request: Request) async throws -> Response {
        let provider = request.pathParameters["provider"] ?? ""
        let client = try client(provider)
        let query = request.queryParameters
        guard let state = query["state"], !state.isEmpty else {
            throw rejectState(request, provider: provider, reason: "missing_state", detail: "the callback has no state")
        }
        let now = self.now
        let pending: PendingAuthorization
        switch try await store.consumeState(hash: OAuthState.hash(state), now: now) {
        case .unknown:
            throw rejectState(request, provider: provider, reason: "invalid_state", detail: "this state was not issued by this hub")
        case .replayed:
            throw rejectState(request, provider: provider, reason: "state_replayed", detail: "this state was already used; start again at /oauth/\(provider)/authorize")
        case .fresh(let found):
            pending = found
        }
        guard pending.provider == provider else {
            throw rejectState(request, provider: provider, reason: "state_provider_mismatch", detail: "this state was issued for another provider")
        }
        guard now < pending.expiresAt else {
            throw rejectState(request, provider: provider, reason: "state_expired", detail: "the authorization took longer than 10 minutes; start again")
        }
        // The allow-list is read at each use: a URI removed while the user was at the provider is not used.
        try checkRedirect(pending.redirectURI, provider: provider, request: request)
        let details: JSONObject = ["provider": .string(provider), "user": .string(pending.userID)]
        if let error = query["error"] ?? (query["code"]?.isEmpty == false ? nil : "missing_code") {
            let code = TokenEndpoint.sanitize(error)
            var event = AuditEvent(.oauthProviderError, severity: .warning, request: request, details: details)
            event.details["error"] = .string(code)
            event.details["description"] = .string(String((query["error_description"] ?? "").prefix(200)))
            audit.record(event)
            return Self.redirect(pending.redirectURI, [("oauth", "error"), ("provider", provider), ("error", code)])
        }
        let verifier = try pending.verifier.map { sealed throws(HTTPError) in
            guard let verifier = OAuthState.openVerifier(sealed, state: state) else { throw HTTPError.internalError }
            return verifier
        }
        let callbackURL = try callbackURL(provider)
        let grant: TokenGrant
        do {
            grant = try await TokenEndpoint(client: client, http: http).exchange(code: query["code"] ?? "", callbackURL: callbackURL, verifier: verifier)
        } catch {
            var event = AuditEvent(.oauthTokenExchangeFailed, severity: .warning, request: request, details: details)
            event.details["reason"] = .string(error.description)
            audit.record(event)
            logger.warning("OAuth code exchange failed", [("provider", provider), ("user", pending.userID), ("reason", error.description)])
            return Self.redirect(pending.redirectURI, [("oauth", "error"), ("provider", provider), ("error", "token_exchange_failed")])
        }
        let connection = try await store.saveConnection(
            provider: provider, userID: pending.userID, grant: grant, requestedScopes: client.scopes.joined(separator: " "), key: try await keyring.key(), now: now)
        try await scheduleRefresh(connection)
        var event = AuditEvent(.oauthConnected, severity: .info, request: request, details: details)
        event.userID = pending.userID
        event.details["connection_id"] = .number(Double(connection.id))
        audit.record(event)
        logger.info("OAuth connection stored", [("provider", provider), ("user", pending.userID), ("connection", "\(connection.id)")])
        return Self.redirect(pending.redirectURI, [("oauth", "connected"), ("provider", provider), ("connection_id", "\(connection.id)")])
    }

    /// A 400 for a bad state, audited (one row per reason and address a minute).
    private func rejectState(_ request: Request, provider: String, reason: String, detail: String) -> HTTPError {
        audit.recordThrottled(
            AuditEvent(.oauthStateRejected, severity: .warning, request: request, details: ["provider": .string(provider), "reason": .string(reason)]),
            key: "\(reason)|\(request.remoteAddress)")
        return HTTPError(status: 400, error: reason, detail: detail)
    }

    /// A 302 to `uri` with `parameters` appended to its query (the routes add no-store and no-referrer).
    static func redirect(_ uri: String, _ parameters: [(name: String, value: String)] = []) -> Response {
        let location = parameters.isEmpty ? uri : uri + (uri.contains("?") ? "&" : "?") + FormURLEncoded.encode(parameters)
        return Response(status: 302, headers: ["Location": location])
    }
}
