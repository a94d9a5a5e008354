import Foundation
import PluginAPI

/// Signs HubSpot requests the way HubSpot does (v3, or the legacy v1/v2), for tests.
struct HubSpotSigner {
    static let secret = "hubspot-client-secret-for-tests"
    static let publicURL = "https://hooks.example.com"

    var secret = HubSpotSigner.secret
    var publicURL = HubSpotSigner.publicURL

    /// v3 headers for a request to `target` as HubSpot called it at `publicURL`.
    func headers(method: String = "POST", target: String = "/api/webhooks/hubspot", body: [UInt8], timestampMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000))
        -> [(String, String)]
    {
        let message = Array("\(method)\(publicURL)\(target)".utf8) + body + Array("\(timestampMs)".utf8)
        let signature = Base64.encode(Digest.hmacSHA256(key: Array(secret.utf8), message: message))
        return [("X-HubSpot-Signature-v3", signature), ("X-HubSpot-Request-Timestamp", "\(timestampMs)"), ("Content-Type", "application/json")]
    }

    /// Legacy v1 headers: hex(SHA-256(secret + body)).
    func v1Headers(body: [UInt8]) -> [(String, String)] {
        [("X-HubSpot-Signature", Hex.encode(Digest.sha256(Array(secret.utf8) + body))), ("X-HubSpot-Signature-Version", "v1")]
    }

    /// `request` signed with v3 at the current time (a conformance-kit signer).
    func sign(_ request: Request) -> Request {
        var request = request
        for (name, value) in headers(method: request.method.rawValue, target: request.target, body: request.body) {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        return request
    }

    /// A contact event as HubSpot sends it (one element of a batch).
    static func event(id: Int, objectId: Int = 123, type: String = "contact.propertyChange", occurredAt: Int64 = 1_700_000_000_000) -> String {
        #"{"eventId":\#(id),"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":\#(occurredAt),"subscriptionType":"\#(type)","attemptNumber":0,"objectId":\#(objectId),"changeSource":"CRM"}"#
    }

    /// A batch body of `events`.
    static func batch(_ events: [String]) -> [UInt8] { Array("[\(events.joined(separator: ","))]".utf8) }
}
