import Foundation
import PluginAPI

/// Signs Standard Webhooks deliveries with PluginAPI's primitive, for tests.
struct StandardWebhooksSigner {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let otherSecret = "whsec_" + Base64.encode(Array("another key, not the source's".utf8))

    var secret = StandardWebhooksSigner.secret

    func headers(id: String, body: [UInt8], timestamp: Int = Int(Date().timeIntervalSince1970)) -> [(String, String)] {
        let signature = try! StandardWebhookSignature(secret: secret)  // The test secrets are valid constants.
        return [("webhook-id", id), ("webhook-timestamp", "\(timestamp)"), ("webhook-signature", signature.sign(id: id, timestamp: "\(timestamp)", body: body))]
    }

    /// `request` signed at the current time, keeping its `webhook-id` (a conformance-kit signer).
    func sign(_ request: Request) -> Request {
        var request = request
        for (name, value) in headers(id: request.headers["webhook-id"] ?? "", body: request.body) { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }
}
