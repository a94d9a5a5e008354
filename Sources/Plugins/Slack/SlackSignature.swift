import PluginAPI

/// Slack's v0 request signature ("Verifying requests from Slack"):
/// `v0=` + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)), within 5 minutes.
struct SlackSignature: Sendable {
    let signingSecret: [UInt8]
    let window: TimestampWindow
    let clock: any WallClock

    /// Throws 401 unless `request` carries a fresh, valid v0 signature over its raw body.
    func verify(_ request: Request) throws(HTTPError) {
        let timestamp = try request.requiredHeader("X-Slack-Request-Timestamp")
        let signature = try request.requiredHeader("X-Slack-Signature")
        try window.check(header: timestamp, now: clock.now())
        guard signature.hasPrefix("v0="), let received = Hex.decode(signature.dropFirst(3)), received.count == 32
        else { throw .invalidSignature("X-Slack-Signature must be 'v0=' followed by 64 hex digits") }
        let expected = Self.mac(secret: signingSecret, timestamp: timestamp, body: request.body)
        guard ConstantTime.equals(received, expected) else { throw .invalidSignature() }
    }

    /// The raw v0 MAC; `"v0=" + Hex.encode(mac)` is the header value.
    static func mac(secret: [UInt8], timestamp: String, body: [UInt8]) -> [UInt8] {
        var mac = HMACSHA256(key: secret)
        mac.update("v0:".utf8)
        mac.update(timestamp.utf8)
        mac.update(CollectionOfOne(UInt8(ascii: ":")))
        mac.update(body)
        return mac.finalize()
    }
}
