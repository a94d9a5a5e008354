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

/// A row read back from `security_audit_log`.
struct AuditRecord: Sendable {
    let id: Int64
    /// Milliseconds since 1970.
    let timestamp: Int64
    let event: AuditEvent

    var json: JSONValue {
        var object: JSONObject = [
            "id": .number(Double(id)), "timestamp": .number(Double(timestamp) / 1000), "event_type": .string(event.type.rawValue),
            "severity": .string(event.severity.rawValue), "details": .object(event.details),
        ]
        if let value = event.userID { object["user_id"] = .string(value) }
        if let value = event.requestID { object["request_id"] = .string(value) }
        if let value = event.ipAddress { object["ip_address"] = .string(value) }
        if let value = event.userAgent { object["user_agent"] = .string(value) }
        return .object(object)
    }
}

/// Which audit rows to read: newer than `since`, of one type or severity, newest first.
struct AuditFilter: Sendable {
    /// Milliseconds since 1970.
    var since: Int64?
    var type: AuditEvent.Kind?
    var severity: AuditEvent.Severity?
    var limit = 100
}
