import PluginAPI

/// What the server asks of the application: the body limit for a request (before its body is read)
/// and the response to a complete request.
protocol HTTPResponder: Sendable {
    /// The largest body accepted for `method` `path`; larger requests are answered 413 unread.
    func maxBodyBytes(method: HTTPMethod, path: String) -> Int
    /// Answers a complete request. Never throws: errors become responses.
    func respond(to request: Request) async -> Response
}
