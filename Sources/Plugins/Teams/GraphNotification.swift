import PluginAPI

/// One item of a Microsoft Graph change-notification batch (`{"value": [...]}`): a change
/// (`changeType`) or a lifecycle notification (`lifecycleEvent`) of a subscription.
///
/// Graph signs nothing; each item carries the `clientState` secret given when the subscription was
/// created, and only items whose `clientState` matches are trusted.
struct GraphNotification: Sendable {
    /// The item as received, without its `clientState`.
    let item: JSONObject
    let clientState: String?

    init(item: JSONObject) {
        var sanitized = item
        sanitized["clientState"] = nil
        self.item = sanitized
        clientState = item["clientState"]?.stringValue
    }

    /// The items of a batch body; 400 when it is not `{"value": [object, ...]}`.
    static func batch(_ body: JSONValue) throws(HTTPError) -> [GraphNotification] {
        guard let value = body["value"]?.arrayValue else { throw .badRequest("a Graph notification body is {\"value\": [...]}") }
        var notifications: [GraphNotification] = []
        for (index, element) in value.enumerated() {
            guard let item = element.objectValue else { throw .badRequest("value[\(index)] is not an object") }
            notifications.append(GraphNotification(item: item))
        }
        return notifications
    }

    /// True when the item's `clientState` equals the configured one (compared in constant time).
    func hasClientState(_ expected: [UInt8]) -> Bool {
        guard let clientState else { return false }
        return ConstantTime.equals(Array(clientState.utf8), expected)
    }

    func string(_ key: String) -> String? { item[key]?.stringValue }

    /// `graph.<changeType>` (`graph.created`) or `graph.lifecycle.<event>` (`graph.lifecycle.reauthorizationRequired`).
    var type: String {
        if let event = string("lifecycleEvent") { return "graph.lifecycle.\(event)" }
        return "graph.\(string("changeType") ?? "notification")"
    }

    /// The same for every redelivery of this notification: subscription, change and resource with
    /// the notification's `id`, or, when it has no `id`, a SHA-256 of the item (without `id`, two
    /// changes of one resource would share subscription, change type and resource, and the second
    /// would be dropped as a duplicate).
    var externalID: String {
        if let id = string("id"), let subscription = string("subscriptionId") {
            let change = string("lifecycleEvent") ?? string("changeType") ?? ""
            return [subscription, change, string("resource") ?? "", id].joined(separator: "|")
        }
        return "sha256:" + Hex.encode(Digest.sha256(JSONValue.object(item).serialized()))
    }

    /// The stored event. The raw body is the item alone, re-serialized without its `clientState`:
    /// the batch as received holds the secret, which is never stored.
    var event: NewEvent {
        let bytes = JSONValue.object(item).serialized()
        return NewEvent(externalID: externalID, type: type, rawBody: bytes, payload: .object(item))
    }
}
