import PluginAPI

/// The signature of a Teams outgoing webhook ("Create an outgoing webhook"):
/// `Authorization: HMAC ` + base64(HMAC-SHA256(base64-decoded security token, raw body)).
struct TeamsOutgoingSignature: Sendable {
    let key: [UInt8]

    /// `securityToken` is the base64 token Teams shows once when the outgoing webhook is created.
    init(securityToken: String) throws(ProviderSetupError) {
        guard let key = Base64.decode(securityToken), !key.isEmpty else {
            throw ProviderSetupError("setting 'outgoingWebhookSecret' must be the base64 security token Teams showed when the outgoing webhook was created")
        }
        self.key = key
    }

    /// Throws 401 unless `request` carries a valid HMAC of its raw body.
    func verify(_ request: Request) throws(HTTPError) {
        let credentials = try request.authorization(scheme: "HMAC")
        guard let received = Base64.decode(credentials), received.count == 32 else {
            throw .invalidSignature("the Authorization header must be 'HMAC ' followed by the base64 of a 32-byte HMAC-SHA256")
        }
        guard ConstantTime.equals(received, Self.mac(key: key, body: request.body)) else { throw .invalidSignature() }
    }

    /// The raw MAC; `"HMAC " + Base64.encode(mac)` is the header value.
    static func mac(key: [UInt8], body: [UInt8]) -> [UInt8] {
        Digest.hmacSHA256(key: key, message: body)
    }
}
