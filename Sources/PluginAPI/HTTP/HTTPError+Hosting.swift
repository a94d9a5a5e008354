/// The errors a host answers on a provider's behalf, shared by the hub and the in-memory test host
/// so both answer the same way.
extension HTTPError {
    /// 404 `not_found` for a path no route matches.
    public static func noRoute(_ method: HTTPMethod, _ path: String) -> HTTPError {
        .notFound("no route for \(method.rawValue) \(path)")
    }

    /// 405 `method_not_allowed` with `Allow`.
    public static func methodNotAllowed(_ path: String, allowed: [HTTPMethod]) -> HTTPError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPError(status: 405, error: "method_not_allowed", detail: "\(path) accepts \(list)", headers: ["Allow": list])
    }

    /// 503 `provider_disabled`.
    public static func providerDisabled(_ id: String) -> HTTPError {
        HTTPError(
            status: 503, error: "provider_disabled", detail: "the provider '\(id)' is disabled in plugins.json", extra: ["provider": .string(id)])
    }

    /// 503 `provider_unavailable`: the provider could not be created, for `reason`.
    public static func providerUnavailable(_ id: String, reason: String) -> HTTPError {
        HTTPError(status: 503, error: "provider_unavailable", detail: reason, extra: ["provider": .string(id)])
    }

    /// 500 `internal_error` for anything a handler throws that is not an ``HTTPError``; reveals nothing.
    public static let internalError = HTTPError(
        status: 500, error: "internal_error", detail: "the request could not be completed; the error is in the server log")
}
