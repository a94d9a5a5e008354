import PluginAPI

/// Checks the admin token for `/api/admin/*` and `/api/security/*` (through ``AdminGate``): `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
/// With no `ADMIN_TOKEN` configured, admin routes are closed (403), never open.
struct AdminAuthentication: Sendable {
    let environment: HubEnvironment

    /// Throws 403 when no token is configured, 401 when the request lacks it or has another.
    func authorize(_ request: Request) throws(HTTPError) {
        guard let expected = environment["ADMIN_TOKEN"], !expected.isEmpty else {
            throw HTTPError(
                status: 403, error: "admin_disabled",
                detail: "admin routes are disabled until ADMIN_TOKEN is set (for example: export ADMIN_TOKEN=$(openssl rand -hex 32))")
        }
        guard let header = request.headers["Authorization"], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw HTTPError(status: 401, error: "unauthorized", detail: "send Authorization: Bearer <ADMIN_TOKEN>", headers: ["WWW-Authenticate": "Bearer"])
        }
        guard ConstantTime.equals(String(header.dropFirst(7)), expected) else {
            throw HTTPError(status: 401, error: "unauthorized", detail: "the admin token is not valid", headers: ["WWW-Authenticate": "Bearer"])
        }
    }
}
