#if canImport(Glibc)
import Glibc
#endif
import PluginAPI

/// Serializes responses: status line, the host-managed `Date`, `Content-Length` and `Connection`
/// fields, then the handler's own fields, each checked so no value can split the response.
struct ResponseEncoder {
    private var cachedDate: [UInt8] = []
    private var cachedSecond = 0

    /// Fields the server manages itself; a handler's copies are dropped.
    private static let managed = ["content-length", "connection", "date", "transfer-encoding"]

    /// Returns the wire bytes of `response`. `includeBody` is false for HEAD.
    ///
    /// Runs once per request, so it appends bytes directly: no string interpolation, no lowercased copies.
    mutating func encode(_ response: Response, keepAlive: Bool, isHTTP11: Bool, includeBody: Bool, logger: Logger) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(160 + response.body.count)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.appendDecimal(response.status)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: Self.reason(response.status).utf8)
        out.append(contentsOf: "\r\nDate: ".utf8)
        appendCurrentDate(to: &out)
        out.append(contentsOf: "\r\n".utf8)
        let bodyAllowed = response.status >= 200 && response.status != 204 && response.status != 304
        if bodyAllowed {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.appendDecimal(response.body.count)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if !isHTTP11 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        for field in response.headers {
            guard Self.isValidName(field.name), Self.isValidValue(field.value) else {
                logger.error("dropped a response header with invalid bytes", [("header", field.name)])
                continue
            }
            guard !Self.managed.contains(where: { HTTPHeaders.namesMatch($0, field.name) }) else { continue }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if includeBody && bodyAllowed { out.append(contentsOf: response.body) }
        return out
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { HTTPGrammar.isToken($0) }
    }

    static func isValidValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { HTTPGrammar.isFieldValue($0) }
    }

    /// Appends the IMF-fixdate of now, recomputed once a second.
    private mutating func appendCurrentDate(to out: inout [UInt8]) {
        var now = time(nil)
        if Int(now) != cachedSecond || cachedDate.isEmpty {
            cachedSecond = Int(now)
            var parts = tm()
            gmtime_r(&now, &parts)
            var buffer = [CChar](repeating: 0, count: 40)
            let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            cachedDate = buffer.prefix(count).map { UInt8(bitPattern: $0) }
        }
        out.append(contentsOf: cachedDate)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
