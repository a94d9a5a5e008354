import PluginAPI

/// What the server asks of the application, once per request, as soon as its head is parsed: the
/// body limit (larger requests are answered 413 unread) and the handler that will answer it.
protocol HTTPResponder: Sendable {
    func route(method: HTTPMethod, path: String) -> HTTPRoute
}

/// A request's route, decided once: the server reads at most `maxBodyBytes`, then calls `respond`.
struct HTTPRoute: Sendable {
    let maxBodyBytes: Int
    /// Answers the complete request. Never throws: errors become responses.
    let respond: @Sendable (Request) async -> Response
}
