import Foundation
import PluginAPI

/// Runs OAuth for every provider that declares ``OAuthSpec``: the authorize redirect, the callback
/// (state check, code exchange, encrypted token storage), background refresh, deletion with revocation,
/// and the access-token lookups providers make through their context.
///
/// Identity comes from `user_id`, which must name a user created by an admin (`POST /api/admin/users`);
/// never from a header. The browser only ever sees a redirect to an allowed URI with a status flag.
final class OAuthService: Sendable {
    /// A provider's declaration and how to read its settings.
    struct Declaration: Sendable {
        let spec: OAuthSpec
        let settings: @Sendable () -> ProviderSettings
    }

    /// The environment variable listing the URIs the browser may be sent back to (exact match).
    static let allowedRedirectsVariable = "OAUTH_ALLOWED_REDIRECT_URIS"

    /// Seconds before expiry a token is refreshed (at most half its lifetime).
    static let refreshMargin: Double = 300

    /// The job kind that refreshes `provider`'s tokens.
    static func refreshKind(_ provider: String) -> String { "\(provider).oauth_refresh" }

    let declarations: [String: Declaration]
    let store: OAuthStore
    let users: UserStore
    let keyring: TokenKeyring
    let jobQueue: JobQueue
    let audit: AuditLog
    let http: any HTTPClient
    let clock: any WallClock
    let logger: Logger
    let environment: HubEnvironment
    let publicBaseURL: String?
    let allowsTemporaryUsers: Bool
    let isEnabled: @Sendable (String) -> Bool

    init(
        declarations: [String: Declaration], store: OAuthStore, users: UserStore, keyring: TokenKeyring, jobQueue: JobQueue, audit: AuditLog,
        http: any HTTPClient, clock: any WallClock, logger: Logger, environment: HubEnvironment, publicBaseURL: String?, allowsTemporaryUsers: Bool,
        isEnabled: @escaping @Sendable (String) -> Bool
    ) {
        self.declarations = declarations
        self.store = store
        self.users = users
        self.keyring = keyring
        self.jobQueue = jobQueue
        self.audit = audit
        self.http = http
        self.clock = clock
        self.logger = logger
        self.environment = environment
        self.publicBaseURL = publicBaseURL
        self.allowsTemporaryUsers = allowsTemporaryUsers
        self.isEnabled = isEnabled
    }

    private var now: Int64 { Int64(clock.now() * 1000) }

    /// The refresh job kinds, one per provider declaring OAuth, run with that provider (so only while it is enabled).
    var jobRegistrations: [JobWorkers.Registration] {
        declarations.keys.sorted().map { provider in
            JobWorkers.Registration(
                providerID: provider,
                kind: JobKind(name: Self.refreshKind(provider), maxAttempts: 8, summary: "Refresh \(provider) OAuth tokens before they expire") {
                    [self] _, payload in try await refresh(payload)
                })
        }
    }

    /// The configured client of `provider`: 404 when it declares no OAuth, 503 when disabled or not configured.
    func client(_ provider: String) throws(HTTPError) -> OAuthClient {
        guard let declaration = declarations[provider] else {
            throw HTTPError(status: 404, error: "unknown_provider", detail: "no provider '\(provider)' with OAuth connections")
        }
        guard isEnabled(provider) else { throw .providerDisabled(provider) }
        return try OAuthClient.resolve(providerID: provider, spec: declaration.spec, settings: declaration.settings())
    }

    /// The hub's callback for `provider`, as registered with the provider: `<public URL>/oauth/<provider>/callback`.
    func callbackURL(_ provider: String) throws(HTTPError) -> String {
        guard var base = publicBaseURL, base.hasPrefix("https://") || base.hasPrefix("http://") else {
            throw HTTPError(
                status: 503, error: "oauth_not_configured", detail: "OAuth needs the hub's public URL for its callback: set --public-url or ATOM_PUBLIC_URL")
        }
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/oauth/\(provider)/callback"
    }

    /// The URIs listed in `OAUTH_ALLOWED_REDIRECT_URIS` (comma or space separated) that are absolute
    /// http(s) URLs without a fragment; others never match.
    var allowedRedirectURIs: Set<String> {
        let listed = (environment[Self.allowedRedirectsVariable] ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" })
        return Set(
            listed.map(String.init).filter { uri in
                guard let components = URLComponents(string: uri), ["http", "https"].contains(components.scheme?.lowercased() ?? "") else { return false }
                return components.host?.isEmpty == false && components.fragment == nil
            })
    }

    // MARK: - Authorize

    /// `GET /oauth/{provider}/authorize?user_id=…&redirect_uri=…` → 302 to the provider's consent page.
    func authorize(_ request: Request) async throws -> Response {
        let provider = request.pathParameters["provider"] ?? ""
        let client = try client(provider)
        let query = request.queryParameters
        guard let userID = query["user_id"], UserStore.isValidID(userID) else {
            throw HTTPError(status: 400, error: "invalid_user_id", detail: "user_id must match ^[A-Za-z0-9_-]{1,64}$")
        }
        guard let redirectURI = query["redirect_uri"], allowedRedirectURIs.contains(redirectURI) else {
            audit.recordThrottled(
                AuditEvent(
                    .oauthRedirectRejected, severity: .warning, request: request,
                    details: ["provider": .string(provider), "redirect_uri": .string(String((query["redirect_uri"] ?? "").prefix(300)))]),
                key: "\(provider)|\(request.remoteAddress)")
            throw HTTPError(
                status: 400, error: "redirect_uri_not_allowed",
                detail: "redirect_uri must be exactly one of the URIs in \(Self.allowedRedirectsVariable)")
        }
        let callbackURL = try callbackURL(provider)
        try await requireUser(userID, request: request)
        _ = try await keyring.key()  // Refuse now, not after the user consented, if tokens could not be stored.
        let state = OAuthState.make()
        let verifier = client.spec.usesPKCE ? OAuthState.makeVerifier() : nil
        let now = now
        try await store.insertState(
            hash: OAuthState.hash(state),
            PendingAuthorization(
                provider: provider, userID: userID, redirectURI: redirectURI, verifier: verifier.map { OAuthState.sealVerifier($0, state: state) },
                expiresAt: now + Int64(OAuthState.lifetime * 1000)),
            now: now)
        return Self.redirect(client.authorizationRedirect(callbackURL: callbackURL, state: state, codeChallenge: verifier.map(PKCE.challenge)))
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

    // MARK: - Callback

    /// `GET /oauth/{provider}/callback?code=…&state=…`: checks the state, exchanges the code, stores the
    /// tokens sealed, and sends the browser back to the allowed URI with `oauth=connected` (or `oauth=error`).
    func callback(_ request: Request) async throws -> Response {
        let provider = request.pathParameters["provider"] ?? ""
        let client = try client(provider)
        let query = request.queryParameters
        guard let state = query["state"], !state.isEmpty else {
            throw rejectState(request, provider: provider, reason: "missing_state", detail: "the callback has no state")
        }
        let now = now
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

    /// A 302 to `uri` with `parameters` appended to its query; never cached, no referrer.
    static func redirect(_ uri: String, _ parameters: [(name: String, value: String)] = []) -> Response {
        let location = parameters.isEmpty ? uri : uri + (uri.contains("?") ? "&" : "?") + FormURLEncoded.encode(parameters)
        return Response(status: 302, headers: ["Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"])
    }

    // MARK: - Refresh

    /// Queues the refresh of `connection` at its expiry minus the margin, when it can be refreshed.
    private func scheduleRefresh(_ connection: OAuthConnection) async throws {
        guard let expiresAt = connection.expiresAt, connection.hasRefreshToken else { return }
        let lifetime = max(Double(expiresAt - now) / 1000, 0)
        let runAt = Double(expiresAt) / 1000 - min(Self.refreshMargin, lifetime / 2)
        try await jobQueue.enqueue(
            kind: Self.refreshKind(connection.provider), payload: ["connection_id": .number(Double(connection.id)), "generation": .number(Double(connection.generation))],
            runAt: runAt, idempotencyKey: "oauth-refresh-\(connection.id)-\(connection.generation)", maxAttempts: 8)
    }

    /// The refresh job: a refused refresh marks the connection `needs_reauth` (audited) and ends the job;
    /// a transient failure throws, so the job is retried with backoff.
    func refresh(_ payload: JSONValue) async throws -> JobResult {
        guard let id = payload["connection_id"]?.numberValue.map(Int64.init), let generation = payload["generation"]?.numberValue.map(Int64.init) else {
            return .fatal("the payload has no connection_id and generation")
        }
        // Deleted, reconnected or refreshed since this job was queued, or already needing re-authorization: nothing to do.
        guard let connection = try await store.connection(id: id), connection.generation == generation, connection.status == .active else { return .success }
        let client = try client(connection.provider)
        let key = try await keyring.key()
        guard let sealed = try await store.sealedTokens(id: id).refresh else { return .success }
        let refreshToken = try SecretStore.open(sealed, with: key)
        let metadata = [("provider", connection.provider), ("user", connection.userID), ("connection", "\(id)")]
        do {
            let grant = try await TokenEndpoint(client: client, http: http).refresh(refreshToken: refreshToken)
            guard let updated = try await store.storeRefresh(id: id, generation: generation, grant: grant, key: key, now: now) else { return .success }
            try await scheduleRefresh(updated)
            logger.info("OAuth token refreshed", metadata)
            return .success
        } catch TokenEndpointError.refused(let code, let status) {
            let reason = "refresh refused by the provider (\(status) \(code)); the user must connect again"
            guard try await store.markNeedsReauth(id: id, generation: generation, error: reason, now: now) else { return .success }
            audit.record(
                AuditEvent(
                    .oauthRefreshFailed, severity: .warning, userID: connection.userID,
                    details: ["provider": .string(connection.provider), "connection_id": .number(Double(id)), "error": .string(code), "status": "needs_reauth"]))
            logger.warning("OAuth refresh refused; the connection needs re-authorization", metadata + [("error", code)])
            return .fatal(reason)
        }  // Anything else (transient failures included) is thrown: the job is retried with backoff.
    }

    // MARK: - Admin

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
                    accessToken: try tokens.access.map { try SecretStore.open($0, with: key) }, refreshToken: try tokens.refresh.map { try SecretStore.open($0, with: key) })
                result["revoked"] = true
            } catch {
                result["revoked"] = false
                result["revoke_error"] = .string("\(error)")
                logger.warning("revoking an OAuth grant at the provider failed; deleting it locally anyway", [("connection", "\(id)"), ("error", "\(error)")])
            }
        }
        _ = try await store.delete(id: id)
        var event = AuditEvent(.oauthConnectionDeleted, severity: .info, request: request, details: ["provider": .string(connection.provider), "user": .string(connection.userID)])
        event.userID = "admin"
        event.details["connection_id"] = .number(Double(id))
        event.details["revoked"] = result["revoked"]
        audit.record(event)
        return result
    }

    // MARK: - Tokens for providers

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
