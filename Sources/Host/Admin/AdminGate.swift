import PluginAPI

/// The one door to `/api/admin/*` and `/api/security/*`, applied by the responder to every path
/// under them (routed or not), and to providers' admin-only routes through `context.requireAdmin`:
/// rate limit by address, then the admin token; failures are audited.
struct AdminGate: Sendable {
    let authentication: AdminAuthentication
    let limiter: FailureRateLimiter
    let audit: AuditLog

    /// The path prefixes the gate covers.
    static let prefixes = ["/api/admin/", "/api/security/"]
    /// The prefixes without their trailing slash, which the gate also covers.
    private static let roots = prefixes.map { String($0.dropLast()) }

    static func covers(_ path: String) -> Bool {
        // Checked on every request: compare bytes, and only for paths under /api/.
        guard path.utf8.starts(with: "/api/".utf8) else { return false }
        return prefixes.contains { path.utf8.starts(with: $0.utf8) } || roots.contains(path)
    }

    /// Throws 429 for a blocked address, else 401/403 from ``AdminAuthentication`` (audited).
    func check(_ request: Request) throws(HTTPError) {
        let address = request.remoteAddress
        try refuseBlocked(request)
        do { try authentication.authorize(request) } catch {
            guard error.status == 401 else { throw error }  // 403: admin is switched off, not an attack.
            audit.recordThrottled(
                AuditEvent(.adminAuthFailure, severity: .warning, request: request, details: ["path": .string(String(request.path.prefix(200))), "reason": .string(error.detail)]),
                key: address)
            if limiter.recordFailure(address) {
                audit.record(AuditEvent(.adminRateLimited, severity: .critical, request: request, details: ["failures_per_minute": .number(Double(limiter.limit))]))
            }
            throw error
        }
    }

    /// Throws 429 when the request's address is blocked for failed authentications. Whoever accepts
    /// a credential of its own besides the admin token (the metrics scrape token, search workspace
    /// tokens) calls this before comparing it, then falls back to ``check(_:)``, which counts the failure.
    func refuseBlocked(_ request: Request) throws(HTTPError) {
        if let seconds = limiter.retryAfter(request.remoteAddress) {
            throw HTTPError(
                status: 429, error: "too_many_requests", detail: "too many failed authentications from this address; retry in \(seconds) s",
                headers: ["Retry-After": "\(seconds)"])
        }
    }
}
