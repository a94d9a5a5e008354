/// A response from a route handler. The host adds `Date`, `Content-Length` and `Connection`.
public struct Response: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An empty response with `status`.
    public static func empty(_ status: Int = 200) -> Response { Response(status: status) }

    /// A JSON response.
    public static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(status: status, headers: ["Content-Type": "application/json"], body: value.serialized())
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }
}

/// An error a handler throws to answer with a status and the JSON body `{"error": ..., "detail": ...}`.
///
/// Anything else a handler throws becomes a logged 500 whose body reveals nothing internal.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    /// A stable machine-readable code, such as `invalid_signature`.
    public var error: String
    /// A human-readable explanation; never contains secrets.
    public var detail: String
    /// Extra members for the JSON body.
    public var extra: JSONObject
    /// Extra response headers (such as `Retry-After`).
    public var headers: HTTPHeaders

    public init(status: Int, error: String, detail: String, extra: JSONObject = [:], headers: HTTPHeaders = [:]) {
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    public var description: String { "\(status) \(error): \(detail)" }

    /// The response this error is answered with.
    public var response: Response {
        var object: JSONObject = ["error": .string(error), "detail": .string(detail)]
        for member in extra.members { object[member.key] = member.value }
        var response = Response.json(.object(object), status: status)
        for field in headers { response.headers.replaceOrAdd(name: field.name, value: field.value) }
        return response
    }

    /// 400 with `error: "bad_request"`.
    public static func badRequest(_ detail: String) -> HTTPError {
        HTTPError(status: 400, error: "bad_request", detail: detail)
    }

    /// 401 for a request whose signature or credentials did not verify.
    public static func unauthorized(_ error: String, _ detail: String) -> HTTPError {
        HTTPError(status: 401, error: error, detail: detail)
    }

    /// 404 with `error: "not_found"`.
    public static func notFound(_ detail: String) -> HTTPError {
        HTTPError(status: 404, error: "not_found", detail: detail)
    }
}
