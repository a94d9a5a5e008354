import PluginAPI

/// Slack's v0 request signature ("Verifying requests from Slack"):
/// `v0=` + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)), within 5 minutes.
struct SlackSignature: Sendable {
    let key: HMACKey
    let window: TimestampWindow
    let clock: any WallClock

    init(signingSecret: String, window: TimestampWindow = .fiveMinutes, clock: any WallClock) {
        key = HMACKey(Array(signingSecret.utf8))
        self.window = window
        self.clock = clock
    }

    /// Throws 401 unless `request` carries a fresh, valid v0 signature over its raw body.
    func verify(_ request: Request) throws(HTTPError) {
        let timestamp = try request.requiredHeader("X-Slack-Request-Timestamp")
        let signature = try request.requiredHeader("X-Slack-Signature")
        try window.check(header: timestamp, now: clock.now())
        guard signature.hasPrefix("v0="), let received = Hex.decode(signature.dropFirst(3)), received.count == 32
        else { throw .invalidSignature("X-Slack-Signature must be 'v0=' followed by 64 hex digits") }
        guard ConstantTime.equals(received, mac(timestamp: timestamp, body: request.body)) else { throw .invalidSignature() }
    }

    /// The raw v0 MAC; `"v0=" + Hex.encode(mac)` is the header value.
    func mac(timestamp: String, body: [UInt8]) -> [UInt8] {
        var mac = key.start()
        mac.update("v0:\(timestamp):")
        mac.update(body)
        return mac.finalize()
    }
}
