import PluginAPI

/// One security-relevant event, as written to `security_audit_log`.
struct AuditEvent: Sendable {
    /// The event types the hub writes.
    enum Kind: String, Sendable, CaseIterable {
        case webhookSignatureFailure = "webhook_signature_failure"
        case webhookStaleTimestamp = "webhook_stale_timestamp"
        case adminAuthFailure = "admin_auth_failure"
        case adminRateLimited = "admin_rate_limited"
        case configurationRefused = "configuration_refused"
        case secretSet = "secret_set"
        case secretsRotated = "secrets_rotated"
        case secretsImported = "secrets_imported"
        case signatureCheckSkipped = "signature_check_skipped"
        case userCreated = "user_created"
        case temporaryUserCreated = "temporary_user_created"
        case oauthRedirectRejected = "oauth_redirect_rejected"
        case oauthStateRejected = "oauth_state_rejected"
        case oauthProviderError = "oauth_provider_error"
        case oauthTokenExchangeFailed = "oauth_token_exchange_failed"
        case oauthConnected = "oauth_connected"
        case oauthRefreshFailed = "oauth_refresh_failed"
        case oauthConnectionDeleted = "oauth_connection_deleted"
        case configurationReloaded = "configuration_reloaded"
        case configurationReloadFailed = "configuration_reload_failed"
        case providerToggled = "provider_toggled"
        case oauthLinkIssued = "oauth_link_issued"
        case oauthAuthorizeRejected = "oauth_authorize_rejected"
    }

    enum Severity: String, Sendable, CaseIterable {
        case info, warning, critical
    }

    var type: Kind
    var severity: Severity
    /// Who acted, when known (a CLI user, `admin`); nil for anonymous callers.
    var userID: String?
    /// Structured facts; never secret values, tokens or signatures.
    var details: JSONObject
    var requestID: String?
    var ipAddress: String?
    var userAgent: String?

    init(
        _ type: Kind, severity: Severity, userID: String? = nil, details: JSONObject = [:], requestID: String? = nil,
        ipAddress: String? = nil, userAgent: String? = nil
    ) {
        self.type = type
        self.severity = severity
        self.userID = userID
        self.details = details
        self.requestID = requestID
        self.ipAddress = ipAddress
        self.userAgent = userAgent
    }

    /// An event about `request`, with its address, user agent and `X-Request-Id` filled in.
    init(_ type: Kind, severity: Severity, request: Request, details: JSONObject) {
        self.init(
            type, severity: severity, details: details, requestID: request.headers["X-Request-Id"].map { String($0.prefix(128)) },
            ipAddress: request.remoteAddress, userAgent: request.headers["User-Agent"].map { String($0.prefix(256)) })
    }
}
