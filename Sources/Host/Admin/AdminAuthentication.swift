import PluginAPI

/// Checks the admin token (see ``AdminToken``) for `/api/admin/*`, `/api/security/*` and provider routes
/// that expose stored data, always through ``AdminGate``. With no `ADMIN_TOKEN` configured, admin routes are closed (403), never open.
struct AdminAuthentication: Sendable {
    let environment: HubEnvironment

    /// Throws 403 when no token is configured, 401 when the request lacks it or has another.
    func authorize(_ request: Request) throws(HTTPError) {
        try AdminToken.authorize(request, expected: environment["ADMIN_TOKEN"])
    }
}
