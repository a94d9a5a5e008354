/// The Standard Webhooks signature (standardwebhooks.com), for verifying incoming webhooks and
/// signing outgoing ones: `v1,` + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
///
/// ```swift
/// let signature = try StandardWebhookSignature(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
/// let header = signature.sign(id: "msg_1", timestamp: "1614265330", body: body)   // "v1,g0hM…"
/// try signature.verify(request, window: .fiveMinutes, now: clock.now())
/// ```
public struct StandardWebhookSignature: Sendable {
    /// The header names the scheme uses.
    public static let idHeader = "webhook-id"
    public static let timestampHeader = "webhook-timestamp"
    public static let signatureHeader = "webhook-signature"

    /// Why a secret cannot be used; the message never contains the secret.
    public struct SecretError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The raw HMAC key.
    public let key: [UInt8]

    /// A signature under a raw key.
    public init(key: [UInt8]) { self.key = key }

    /// A signature under a `whsec_`-prefixed base64 secret, as Standard Webhooks senders display it.
    public init(secret: String) throws(SecretError) {
        guard secret.hasPrefix("whsec_") else { throw SecretError(description: "the secret must start with 'whsec_'") }
        guard let key = Base64.decode(secret.dropFirst(6)), !key.isEmpty else {
            throw SecretError(description: "the secret after 'whsec_' must be non-empty base64")
        }
        self.key = key
    }

    /// The `webhook-signature` header value for a message: `v1,<base64>`.
    public func sign(id: String, timestamp: String, body: [UInt8]) -> String {
        "v1," + Base64.encode(mac(id: id, timestamp: timestamp, body: body))
    }

    /// Throws 401 unless `request` has a fresh timestamp and at least one `v1` entry in its
    /// space-separated `webhook-signature` header that matches its raw body.
    public func verify(_ request: Request, window: TimestampWindow, now: Double) throws(HTTPError) {
        let id = try request.requiredHeader(Self.idHeader)
        let timestamp = try request.requiredHeader(Self.timestampHeader)
        let header = try request.requiredHeader(Self.signatureHeader)
        try window.check(header: timestamp, now: now)
        let expected = mac(id: id, timestamp: timestamp, body: request.body)
        var matched = false
        for entry in header.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let received = Base64.decode(parts[1]) else { continue }
            if ConstantTime.equals(received, expected) { matched = true }
        }
        guard matched else { throw .invalidSignature("no v1 entry of webhook-signature matches the request body") }
    }

    private func mac(id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        var mac = HMACSHA256(key: key)
        mac.update(id)
        mac.update(".")
        mac.update(timestamp)
        mac.update(".")
        mac.update(body)
        return mac.finalize()
    }
}
