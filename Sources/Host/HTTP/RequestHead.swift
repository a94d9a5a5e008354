import PluginAPI
#if canImport(Glibc)
import Glibc
#endif

/// How a request's body is delimited.
enum BodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
}

/// A parsed request line and header section.
struct RequestHead {
    var method: HTTPMethod
    var path: String
    var query: String?
    var isHTTP11: Bool
    var headers: HTTPHeaders
    var framing: BodyFraming
    /// Whether the client allows the connection to stay open after this request.
    var keepAlive: Bool
    var expectsContinue: Bool
}

/// Parses the head of a request strictly (RFC 9112 §2–§6): no bare CR or LF, no obs-fold, no
/// whitespace before a colon, no ambiguous framing. A parse error is fatal for the connection.
struct RequestHeadParser {
    let maxHeaderCount: Int

    /// Finds the end of the head (just past CRLF CRLF) in `bytes`, scanning from `start`.
    /// Throws on a bare LF, so a client using LF alone is refused at once instead of timing out.
    static func headEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(HTTPParseError) -> Int? {
        var index = start
        while index < bytes.count {
            guard let found = memchrIndex(bytes, HTTPGrammar.lf, from: index) else { return nil }
            guard found > 0, bytes[found - 1] == HTTPGrammar.cr else { throw .badRequest("a line ends in LF without CR") }
            if found >= 3, bytes[found - 2] == HTTPGrammar.lf, bytes[found - 3] == HTTPGrammar.cr { return found + 1 }
            index = found + 1
        }
        return nil
    }

    private static func memchrIndex(_ bytes: UnsafeBufferPointer<UInt8>, _ byte: UInt8, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), bytes.count - from) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }

    /// Parses `head`, which ends with CRLF CRLF.
    func parse(_ head: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> RequestHead {
        var lines = LineCursor(bytes: head)
        guard let requestLine = try lines.next() else { throw .badRequest("empty request") }
        let (method, path, query, isHTTP11) = try Self.parseRequestLine(requestLine)

        var headers = HTTPHeaders()
        headers.reserveCapacity(12)
        var contentLength: Int?
        var transferEncodings: [Substring] = []
        var sawTransferEncoding = false
        var hostCount = 0
        var connectionTokens: [Substring] = []
        var expectsContinue = false
        var count = 0
        while let line = try lines.next(), !line.isEmpty {
            count += 1
            guard count <= maxHeaderCount else { throw .headerTooLarge("more than \(maxHeaderCount) header fields") }
            let (name, value) = try Self.parseField(line)
            switch Self.framingField(name) {
            case .contentLength:
                guard contentLength == nil else { throw .badRequest("more than one Content-Length") }
                guard !value.isEmpty, value.utf8.count <= 15, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(value)
                else { throw .badRequest("Content-Length is not a decimal number") }
                contentLength = length
            case .transferEncoding:
                sawTransferEncoding = true
                transferEncodings += value.split(separator: ",").map { $0.trimmingOWS() }.filter { !$0.isEmpty }
            case .host:
                hostCount += 1
            case .connection:
                connectionTokens += value.split(separator: ",").map { $0.trimmingOWS() }
            case .expect:
                guard value.lowercased() == "100-continue" else {
                    throw HTTPParseError(status: 417, reason: "only 'Expect: 100-continue' is supported")
                }
                expectsContinue = true
            case nil:
                break
            }
            headers.add(name: name, value: value)
        }

        let framing: BodyFraming
        if sawTransferEncoding {
            // A Transfer-Encoding field with no codings must not fall back to Content-Length framing:
            // a proxy in front may frame it differently (request smuggling).
            guard !transferEncodings.isEmpty else { throw .badRequest("Transfer-Encoding without a transfer coding") }
            guard contentLength == nil else { throw .badRequest("both Content-Length and Transfer-Encoding") }
            guard isHTTP11 else { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            guard transferEncodings.last!.lowercased() == "chunked" else {
                throw .badRequest("the last transfer coding is not chunked")
            }
            guard transferEncodings.count == 1 else {
                throw HTTPParseError(status: 501, reason: "transfer codings other than chunked are not supported")
            }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            framing = .length(contentLength)
        } else {
            framing = .none
        }
        if isHTTP11 && hostCount != 1 {
            throw .badRequest(hostCount == 0 ? "HTTP/1.1 request without Host" : "more than one Host")
        }
        let lowered = connectionTokens.map { $0.lowercased() }
        let keepAlive = !lowered.contains("close") && (isHTTP11 || lowered.contains("keep-alive"))
        if framing == .none { expectsContinue = false }
        return RequestHead(
            method: method, path: path, query: query, isHTTP11: isHTTP11, headers: headers, framing: framing,
            keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    /// Fields that decide framing and connection handling.
    private enum FramingField { case contentLength, transferEncoding, host, connection, expect }

    /// Which framing field `name` is, checking length first so most fields cost one comparison.
    private static func framingField(_ name: String) -> FramingField? {
        let candidate: (String, FramingField)
        switch name.utf8.count {
        case 4: candidate = ("host", .host)
        case 6: candidate = ("expect", .expect)
        case 10: candidate = ("connection", .connection)
        case 14: candidate = ("content-length", .contentLength)
        case 17: candidate = ("transfer-encoding", .transferEncoding)
        default: return nil
        }
        return HTTPHeaders.namesMatch(name, candidate.0) ? candidate.1 : nil
    }

    /// method SP request-target SP HTTP-version
    static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (HTTPMethod, String, String?, Bool) {
        guard let firstSpace = line.firstIndex(of: HTTPGrammar.space), firstSpace > 0 else {
            throw .badRequest("malformed request line")
        }
        let methodBytes = UnsafeBufferPointer(rebasing: line[0..<firstSpace])
        guard methodBytes.allSatisfy({ HTTPGrammar.isToken($0) }) else { throw .badRequest("the method is not a token") }
        let rest = UnsafeBufferPointer(rebasing: line[(firstSpace + 1)...])
        guard let secondSpace = rest.firstIndex(of: HTTPGrammar.space), secondSpace > 0 else {
            throw .badRequest("malformed request line")
        }
        let target = UnsafeBufferPointer(rebasing: rest[0..<secondSpace])
        let version = UnsafeBufferPointer(rebasing: rest[(secondSpace + 1)...])
        let isHTTP11 = try parseVersion(version)
        guard target.allSatisfy({ HTTPGrammar.isTarget($0) }) else {
            throw .badRequest("the request target has a character that is not allowed")
        }
        guard let method = Self.method(methodBytes) else {
            throw HTTPParseError(status: 501, reason: "the method \(String(decoding: methodBytes, as: UTF8.self)) is not supported")
        }
        // origin-form (nearly every request): split at '?' on the bytes, without String searching.
        if target.first == UInt8(ascii: "/") {
            guard let mark = target.firstIndex(of: UInt8(ascii: "?")) else {
                return (method, String(decoding: target, as: UTF8.self), nil, isHTTP11)
            }
            let path = String(decoding: UnsafeBufferPointer(rebasing: target[..<mark]), as: UTF8.self)
            let query = String(decoding: UnsafeBufferPointer(rebasing: target[(mark + 1)...]), as: UTF8.self)
            return (method, path, query, isHTTP11)
        }
        let (path, query) = try splitTarget(String(decoding: target, as: UTF8.self), method: method)
        return (method, path, query, isHTTP11)
    }

    /// The method named by `bytes`, compared byte for byte (methods are case-sensitive).
    private static func method(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPMethod? {
        HTTPMethod.allCases.first { candidate in
            var name = candidate.rawValue
            return name.withUTF8 { $0.count == bytes.count && memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
        }
    }

    private static func parseVersion(_ version: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Bool {
        guard version.count == 8, version[0] == UInt8(ascii: "H"), version[1] == UInt8(ascii: "T"), version[2] == UInt8(ascii: "T"),
            version[3] == UInt8(ascii: "P"), version[4] == UInt8(ascii: "/"), version[6] == UInt8(ascii: "."),
            (0x30...0x39).contains(version[5]), (0x30...0x39).contains(version[7])
        else { throw .badRequest("malformed HTTP version") }
        switch (version[5], version[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return true
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return false
        default: throw HTTPParseError(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported")
        }
    }

    /// origin-form (`/path?q`), absolute-form (`http://host/path?q`) and asterisk-form (OPTIONS only).
    static func splitTarget(_ target: String, method: HTTPMethod) throws(HTTPParseError) -> (String, String?) {
        var pathAndQuery = Substring(target)
        if target == "*" {
            guard method == .OPTIONS else { throw .badRequest("'*' is only a target for OPTIONS") }
            return ("*", nil)
        }
        if !target.hasPrefix("/") {
            let lower = target.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw .badRequest("the request target is neither a path nor an absolute URI")
            }
            let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
            guard let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
                return ("/", nil)
            }
            guard slash > afterScheme.startIndex else { throw .badRequest("absolute URI without a host") }
            pathAndQuery = afterScheme[slash...]
            if pathAndQuery.hasPrefix("?") { pathAndQuery = "/" + pathAndQuery }
        }
        if let mark = pathAndQuery.firstIndex(of: "?") {
            return (String(pathAndQuery[..<mark]), String(pathAndQuery[pathAndQuery.index(after: mark)...]))
        }
        return (String(pathAndQuery), nil)
    }

    /// field-name ":" OWS field-value OWS
    static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (String, String) {
        guard let first = line.first, first != HTTPGrammar.space, first != HTTPGrammar.tab else {
            throw .badRequest("obsolete line folding is not accepted")
        }
        guard let colon = line.firstIndex(of: HTTPGrammar.colon), colon > 0 else {
            throw .badRequest("a header line has no field name")
        }
        let nameBytes = UnsafeBufferPointer(rebasing: line[0..<colon])
        guard nameBytes.allSatisfy({ HTTPGrammar.isToken($0) }) else {
            throw .badRequest("invalid character in a field name (whitespace before ':' is not allowed)")
        }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == HTTPGrammar.space || line[start] == HTTPGrammar.tab { start += 1 }
        while end > start, line[end - 1] == HTTPGrammar.space || line[end - 1] == HTTPGrammar.tab { end -= 1 }
        let valueBytes = UnsafeBufferPointer(rebasing: line[start..<end])
        guard valueBytes.allSatisfy({ HTTPGrammar.isFieldValue($0) }) else {
            throw .badRequest("invalid character in the value of a header field")
        }
        return (String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self))
    }
}

/// Splits a head into lines at CRLF; a CR anywhere else is an error.
struct LineCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    /// The next line without its CRLF, or nil at the end.
    mutating func next() throws(HTTPParseError) -> UnsafeBufferPointer<UInt8>? {
        guard position < bytes.count else { return nil }
        var index = position
        while index < bytes.count {
            if bytes[index] == HTTPGrammar.cr {
                guard index + 1 < bytes.count, bytes[index + 1] == HTTPGrammar.lf else {
                    throw .badRequest("a bare CR in the request head")
                }
                let line = UnsafeBufferPointer(rebasing: bytes[position..<index])
                position = index + 2
                return line
            }
            if bytes[index] == HTTPGrammar.lf { throw .badRequest("a line ends in LF without CR") }
            index += 1
        }
        throw .badRequest("the request head does not end in CRLF")
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingOWS() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
