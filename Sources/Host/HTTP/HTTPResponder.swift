import PluginAPI

/// What the server asks of the application, once per request, as soon as its head is parsed: the
/// body limit (larger requests are answered 413 unread) and the handler that will answer it.
protocol HTTPResponder: Sendable {
    func route(method: HTTPMethod, path: String) -> HTTPRoute
    /// Called on the event loop for a request the server answered itself before routing (malformed,
    /// too large, too slow, over capacity) with `status`; it must not block.
    func rejected(status: Int, reason: String, remoteAddress: String)
}

/// A request's route, decided once: the server reads at most `maxBodyBytes`, then calls `respond`.
struct HTTPRoute: Sendable {
    let maxBodyBytes: Int
    /// Answers the complete request. Never throws: errors become responses.
    let respond: @Sendable (Request) async -> Response
}
