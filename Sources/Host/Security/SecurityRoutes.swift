import Foundation
import PluginAPI

/// `/api/security/*`: what the running host actually uses. The admin gate guards every path.
struct SecurityRoutes {
    let review: SecurityReview
    let registry: ProviderRegistry
    let audit: AuditLog

    /// Adds the security routes to `router`.
    func register(in router: inout Router) throws(RouteConflictError) {
        let routes: [(String, @Sendable (Request) async throws -> Response)] = [
            ("/api/security/configuration", { [self] _ in configuration() }),
            ("/api/security/secrets", { [self] _ in secrets() }),
            ("/api/security/webhooks", { [self] _ in webhooks() }),
            ("/api/security/health", { [self] _ in try await health() }),
            ("/api/security/audit", { [self] request in try await auditRows(request) }),
        ]
        for (path, handler) in routes {
            let query: [RouteDocumentation.QueryParameter] =
                path.hasSuffix("/audit") ? [.init("since"), .init("type"), .init("severity"), .init("limit", schema: JSONSchema.integer(minimum: 1))] : []
            try router.add(
                method: .GET, template: path, maxBodyBytes: 0, owner: .host(handler), declaredBy: "the host",
                summary: "Security report: \(path.split(separator: "/").last!)", documentation: RouteDocumentation(query: query, responses: [200: .json(JSONSchema.object())]))
        }
    }

    /// The startup review with each provider's switch and settings as the registry holds them now,
    /// so the reports follow hot reloads. Destinations are not reloaded, so they stay as started.
    private var currentReview: SecurityReview {
        var current = review
        for (id, slot) in registry.slots {
            var entry = slot.entry.withLock { $0 }
            entry?.destinations = review.configuration.providers[id]?.destinations ?? []
            current.configuration.providers[id] = entry
        }
        return current
    }

    /// Status and every finding that is not ok.
    func configuration() -> Response {
        let review = currentReview
        let findings = review.findings()
        return .json([
            "status": .string(SecurityReview.status(of: findings)),
            "environment": .string(review.deployment.mode.rawValue),
            "issues": .array(findings.filter { $0.severity != .ok }.map(\.json)),
            "checks": .array(findings.map(\.json)),
        ])
    }

    /// Storage status, counts and key ids; never a value.
    func secrets() -> Response {
        let vault = review.vault
        var byKey: JSONObject = [:]
        for secret in vault.secrets.values { byKey[secret.keyID] = .number((byKey[secret.keyID]?.numberValue ?? 0) + 1) }
        var object: JSONObject = [
            "storage": "sqlite", "cipher": "AES-256-GCM", "kdf": .string("PBKDF2-HMAC-SHA256"),
            "status": .string(vault.statusName), "key_source": .string(vault.keySourceName),
            "key_ids": .array(vault.keyIDs.map(JSONValue.string)), "active_key_id": vault.key.map { .string($0.id) } ?? .null,
            "secret_count": .number(Double(vault.secrets.count)), "secrets_by_key": .object(byKey),
            "damaged_count": .number(Double(vault.damaged.count)),
        ]
        if case .unavailable(let error) = vault.status { object["error"] = .string(error.description) }
        return .json(.object(object))
    }

    /// Each provider: enabled, scheme, replay window, whether checks are enforced and secrets resolve.
    func webhooks() -> Response {
        let review = currentReview
        let skipping = review.skipsSignatureChecks
        let states = Dictionary(uniqueKeysWithValues: registry.states().map { ($0.id, $0.state) })
        let providers: [JSONValue] = review.providerTypes.map { type in
            let descriptor = type.descriptor
            let enabled = review.configuration.providers[descriptor.id]?.enabled == true
            let problem = review.unresolvedSetting(of: type)
            var object: JSONObject = [
                "id": .string(descriptor.id), "name": .string(descriptor.displayName), "enabled": .bool(enabled),
                "verification_scheme": .string(descriptor.verificationScheme?.summary ?? "not described by the provider"),
                "replay_window_seconds": descriptor.verificationScheme?.replayWindow.map { .number($0.tolerance) } ?? .null,
                "signature_checks": .string(skipping ? "skippable: failed checks run through context.verification are let through (development escape hatch)" : "enforced"),
                "secrets_resolve": .bool(problem == nil),
                "routes": .array(descriptor.routes.map { .string("\($0.method.rawValue) \($0.path)") }),
                "instance": .string(Self.describe(states[descriptor.id])),
            ]
            if let problem { object["problem"] = .string(problem) }
            return .object(object)
        }
        return .json(["providers": .array(providers)])
    }

    /// Whether the registry has created the provider yet.
    private static func describe(_ state: ProviderRegistry.SlotState?) -> String {
        switch state {
        case .ready?: "created"
        case .failed(let reason)?: "creation failed: \(reason)"
        case .notCreated?, nil: "not created yet (created on first request)"
        }
    }

    /// One summary: configuration status, store status, and whether the audit log answers.
    func health() async throws -> Response {
        let status = SecurityReview.status(of: review.findings())
        var auditState = "ok"
        do { _ = try await audit.query(AuditFilter(limit: 1)) } catch { auditState = "failing: \(error)" }
        return .json([
            "status": .string(auditState == "ok" ? status : "critical"), "environment": .string(review.deployment.mode.rawValue),
            "configuration": .string(status), "secrets_store": .string(review.vault.statusName), "audit_log": .string(auditState),
            "audit_retention_days": .number(Double(audit.retentionDays)),
            "signature_checks": .string(review.skipsSignatureChecks ? "skipped" : "enforced"),
        ])
    }

    /// `GET /api/security/audit?since=&type=&severity=&limit=`: newest first. `since` is seconds since 1970.
    func auditRows(_ request: Request) async throws -> Response {
        let query = request.queryParameters
        var filter = AuditFilter()
        if let text = query["since"] {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds < 1e11 else {
                throw HTTPError.badRequest("since must be seconds since 1970 (for example \(Int(Date().timeIntervalSince1970) - 3600))")
            }
            filter.since = Int64(seconds * 1000)
        }
        filter.type = try request.enumParameter("type", as: AuditEvent.Kind.self)
        filter.severity = try request.enumParameter("severity", as: AuditEvent.Severity.self)
        filter.limit = try request.limitParameter(default: filter.limit)
        let records = try await audit.query(filter)
        return .json(["events": .array(records.map(\.json))])
    }
}
