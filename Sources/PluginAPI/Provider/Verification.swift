/// Helpers every webhook verifier uses, so failures read the same for every provider.
extension HTTPError {
    /// 401 `missing_signature`: a header the provider's scheme needs is absent or empty.
    public static func missingHeader(_ name: String) -> HTTPError {
        .unauthorized("missing_signature", "the \(name) header is required")
    }

    /// 401 `invalid_signature`: the signature does not match the body.
    public static func invalidSignature(_ detail: String = "the signature does not match the request body") -> HTTPError {
        .unauthorized("invalid_signature", detail)
    }

    /// 401 `stale_timestamp`: the signed timestamp is outside the replay window.
    public static func staleTimestamp(window: TimestampWindow) -> HTTPError {
        .unauthorized("stale_timestamp", "the request timestamp is more than \(Int(window.tolerance)) s from the server's clock")
    }
}

extension Request {
    /// The value of a header the signature scheme needs; 401 `missing_signature` when absent or empty.
    public func requiredHeader(_ name: String) throws(HTTPError) -> String {
        guard let value = headers[name], !value.isEmpty else { throw .missingHeader(name) }
        return value
    }

    /// The credentials of the `Authorization: <scheme> <credentials>` header (scheme compared
    /// case-insensitively, RFC 9110 §11.1): 401 `missing_signature` when there is no such header,
    /// `invalid_signature` when it uses another scheme or appears more than once.
    public func authorization(scheme: String) throws(HTTPError) -> String {
        let value = try requiredHeader("Authorization")
        guard headers.values(for: "Authorization").count == 1 else { throw .invalidSignature("more than one Authorization header") }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, HTTPHeaders.namesMatch(String(parts[0]), scheme) else {
            throw .invalidSignature("the Authorization header must use the \(scheme) scheme")
        }
        let credentials = parts[1].drop(while: { $0 == " " })
        guard !credentials.isEmpty else { throw .invalidSignature("the Authorization header has no \(scheme) credentials") }
        return String(credentials)
    }

    /// The body parsed as JSON; 400 `bad_request` when it is not valid JSON.
    public func jsonBody() throws(HTTPError) -> JSONValue {
        do { return try JSONValue.parse(body) } catch { throw .badRequest("the body is not valid JSON: \(error)") }
    }
}

extension TimestampWindow {
    /// Checks a decimal timestamp header (in `unitsPerSecond`, 1 for seconds, 1000 for milliseconds):
    /// 401 `invalid_signature` when it is not a number, `stale_timestamp` when outside the window.
    public func check(header value: String, unitsPerSecond: Double = 1, now: Double) throws(HTTPError) {
        guard !value.isEmpty, value.utf8.count <= 16, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let units = Double(value)
        else { throw .invalidSignature("the timestamp header is not a decimal number") }
        guard contains(units / unitsPerSecond, now: now) else { throw .staleTimestamp(window: self) }
    }
}
