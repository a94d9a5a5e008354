/// The hub's admin credential check: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
///
/// With no token configured, admin access is closed (403), never open.
public enum AdminToken {
    /// The `error` code of a 401 for a missing or wrong admin token; webhook verifiers use other codes.
    public static let refusalCode = "unauthorized"

    /// Throws 403 when `expected` is nil or empty, 401 when the request lacks the token or has another.
    public static func authorize(_ request: Request, expected: String?) throws(HTTPError) {
        guard let expected, !expected.isEmpty else {
            throw HTTPError(
                status: 403, error: "admin_disabled",
                detail: "admin routes are disabled until ADMIN_TOKEN is set (for example: export ADMIN_TOKEN=$(openssl rand -hex 32))")
        }
        guard let header = request.headers["Authorization"], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw HTTPError(
                status: 401, error: refusalCode, detail: "send Authorization: Bearer <ADMIN_TOKEN>", headers: ["WWW-Authenticate": "Bearer"])
        }
        guard ConstantTime.equals(String(header.dropFirst(7)), expected) else {
            throw HTTPError(status: 401, error: refusalCode, detail: "the admin token is not valid", headers: ["WWW-Authenticate": "Bearer"])
        }
    }
}
