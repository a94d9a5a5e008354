/// Request methods the hub routes. Anything else is answered 501 before it reaches a route.
public enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    case GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS
}

/// A complete HTTP request as a route handler sees it: the body is fully read and the raw bytes
/// are kept exactly as received, so signatures can be checked over them.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path, as sent (percent-encoding kept), without the query.
    public var path: String
    /// The raw query string after `?`, if any.
    public var query: String?
    public var headers: HTTPHeaders
    /// The body bytes exactly as received (chunked framing removed).
    public var body: [UInt8]
    /// Values of `{name}` segments of the matched route template.
    public var pathParameters: [String: String]
    /// The peer's address, for audit and rate limiting.
    public var remoteAddress: String

    public init(
        method: HTTPMethod, path: String, query: String? = nil, headers: HTTPHeaders = [:], body: [UInt8] = [],
        pathParameters: [String: String] = [:], remoteAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.pathParameters = pathParameters
        self.remoteAddress = remoteAddress
    }

    /// The path and query as sent (`/a/b?x=1`).
    public var target: String { query.map { "\(path)?\($0)" } ?? path }

    /// Query parameters, percent-decoded (`+` as space). The first occurrence of a name wins.
    public var queryParameters: [String: String] {
        guard let query else { return [:] }
        return FormURLEncoded.decode(query).reduce(into: [:]) { result, pair in
            if result[pair.name] == nil { result[pair.name] = pair.value }
        }
    }
}

/// `application/x-www-form-urlencoded` decoding.
public enum FormURLEncoded {
    /// Name/value pairs in order; malformed percent-escapes are kept literally.
    public static func decode<Text: StringProtocol>(_ text: Text) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? percentDecode(parts[1], plusAsSpace: true) : ""
            return (name: percentDecode(parts[0], plusAsSpace: true), value: value)
        }
    }

    /// Decodes `%XX` escapes (and `+` when `plusAsSpace`).
    public static func percentDecode<Text: StringProtocol>(_ text: Text, plusAsSpace: Bool) -> String {
        let bytes = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "%"), index + 2 < bytes.count,
                let decoded = Hex.decode(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self))
            {
                out.append(decoded[0])
                index += 3
            } else {
                out.append(plusAsSpace && c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
