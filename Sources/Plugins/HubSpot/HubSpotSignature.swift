import PluginAPI

/// HubSpot's request signatures ("Validating requests from HubSpot").
///
/// v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, METHOD + URI + raw body + timestamp)),
/// with `X-HubSpot-Request-Timestamp` in milliseconds inside the window. v1 (hex SHA-256 of secret + body)
/// and v2 (hex SHA-256 of secret + METHOD + URI + body) carry no timestamp, so they are accepted
/// only when `allowLegacy` is set.
struct HubSpotSignature: Sendable {
    let clientSecret: [UInt8]
    let allowLegacy: Bool
    let window: TimestampWindow
    let clock: any WallClock

    /// Throws 401 unless `request`, received at the full URL `uri`, carries a valid signature.
    func verify(_ request: Request, uri: String) throws(HTTPError) {
        if let v3 = request.headers["X-HubSpot-Signature-v3"], !v3.isEmpty {
            let timestamp = try request.requiredHeader("X-HubSpot-Request-Timestamp")
            try window.check(header: timestamp, unitsPerSecond: 1000, now: clock.now())
            guard let received = Base64.decode(v3), received.count == 32 else {
                throw .invalidSignature("X-HubSpot-Signature-v3 must be the base64 of a 32-byte HMAC")
            }
            let expected = Self.v3(secret: clientSecret, method: request.method, uri: uri, body: request.body, timestamp: timestamp)
            guard ConstantTime.equals(received, expected) else { throw .invalidSignature() }
            return
        }
        guard let legacy = request.headers["X-HubSpot-Signature"], !legacy.isEmpty else {
            throw .missingHeader("X-HubSpot-Signature-v3")
        }
        guard allowLegacy else {
            throw .invalidSignature("v1/v2 signatures (X-HubSpot-Signature) are refused; use v3 or set allowLegacySignatures")
        }
        let expected: [UInt8]
        switch try request.requiredHeader("X-HubSpot-Signature-Version") {
        case "v1": expected = Digest.sha256(clientSecret + request.body)
        case "v2": expected = Digest.sha256(clientSecret + Array("\(request.method.rawValue)\(uri)".utf8) + request.body)
        default: throw .invalidSignature("X-HubSpot-Signature-Version must be v1 or v2 (or send X-HubSpot-Signature-v3)")
        }
        guard let received = Hex.decode(legacy), ConstantTime.equals(received, expected) else { throw .invalidSignature() }
    }

    /// The raw v3 MAC; the URI is decoded as HubSpot requires first (see ``decodeURI(_:)``).
    static func v3(secret: [UInt8], method: HTTPMethod, uri: String, body: [UInt8], timestamp: String) -> [UInt8] {
        var mac = HMACSHA256(key: secret)
        mac.update(method.rawValue)
        mac.update(decodeURI(uri))
        mac.update(body)
        mac.update(timestamp)
        return mac.finalize()
    }

    /// Characters HubSpot decodes before signing a v3 URI: `: / ? @ ! $ ' ( ) * , ;`. Other escapes stay encoded.
    private static let decodedBytes: Set<UInt8> = Set(":/?@!$'()*,;".utf8)

    /// Decodes only the escapes of ``decodedBytes`` (either hex case), as HubSpot does before signing.
    static func decodeURI(_ uri: String) -> String {
        let bytes = Array(uri.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let byte = Hex.decode(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self))?.first,
                decodedBytes.contains(byte)
            {
                out.append(byte)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
