/// An outbound HTTP request (to Slack's API, Google's JWKS, a forwarding destination, ...).
public struct OutboundRequest: Sendable {
    public var method: HTTPMethod
    /// An absolute http or https URL. Base URLs come from settings, so tests can point them at local fakes.
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The whole exchange must finish within this time.
    public var timeout: Duration

    public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = [:], body: [UInt8] = [], timeout: Duration = .seconds(10)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// The response to an outbound request.
public struct OutboundResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The `Retry-After` header as a number of seconds (nil when absent, not a number, negative or
    /// infinite; the HTTP-date form is not read). A 429 handler returns `.retry(after: retryAfter ?? 30)`.
    public var retryAfter: Double? {
        guard let text = headers["Retry-After"] else { return nil }
        let trimmed = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
        return seconds
    }
}

/// Why an outbound request got no response (connection refused, timeout, invalid URL...).
public struct OutboundError: Error, Sendable, CustomStringConvertible {
    public var url: String
    public var reason: String
    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }
    public var description: String { "request to \(url) failed: \(reason)" }
}

/// Sends outbound HTTP requests; the host provides one to every provider.
public protocol HTTPClient: Sendable {
    /// Sends `request`; any HTTP status is a response, only transport failures throw ``OutboundError``.
    func send(_ request: OutboundRequest) async throws -> OutboundResponse
}
