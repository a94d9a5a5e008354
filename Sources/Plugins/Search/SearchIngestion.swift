import PluginAPI

/// Documents made from events other providers stored: Slack and Teams messages, Gmail
/// notifications and HubSpot object changes. The document id is derived from the event
/// (`event:<provider>:<external id>`), so handling an event twice upserts the same document.
enum SearchIngestion {
    /// The providers whose events are indexed.
    static let providers = ["slack", "teams", "gmail", "hubspot"]

    /// The document for `event`, or nil when it carries nothing to search (a reaction, a lifecycle notice).
    static func document(from event: SubscribedEvent) -> SearchDocument? {
        let time = event.occurredAt ?? event.receivedAt
        let id = "event:\(event.provider):\(event.externalID)"
        let payload = event.payload
        func make(_ title: String, _ content: String, _ docType: String, workspace: String?, user: String?, source: String?, metadata: JSONObject)
            -> SearchDocument?
        {
            guard !content.isEmpty else { return nil }
            return SearchDocument(
                id: id, title: title, content: content, docType: docType, provider: event.provider, sourceURI: source,
                workspaceID: workspace.flatMap(identifier), userID: user.flatMap(identifier), createdAt: time,
                metadata: metadata.merging(["event_id": .number(Double(event.id)), "event_type": .string(event.type)]))
        }
        switch (event.provider, event.type) {
        case ("slack", "message"), ("slack", "app_mention"):
            let message = payload["event"]
            let channel = message?["channel"]?.stringValue
            return make(
                channel.map { "Slack message in \($0)" } ?? "Slack message", message?["text"]?.stringValue ?? "", "message",
                workspace: payload["team_id"]?.stringValue, user: message?["user"]?.stringValue,
                source: channel.map { "slack://channel/\($0)/\(message?["ts"]?.stringValue ?? "")" },
                metadata: ["channel": channel.map { .string($0) } ?? .null, "ts": message?["ts"] ?? .null])
        case ("teams", "message"):
            let conversation = payload["conversation"]?["id"]?.stringValue
            return make(
                "Teams message", Self.plainText(payload["text"]?.stringValue ?? ""), "message",
                workspace: payload["channelData"]?["tenant"]?["id"]?.stringValue ?? payload["conversation"]?["tenantId"]?.stringValue,
                user: payload["from"]?["aadObjectId"]?.stringValue ?? payload["from"]?["id"]?.stringValue, source: conversation.map { "teams://conversation/\($0)" },
                metadata: ["conversation": conversation.map { .string($0) } ?? .null])
        case ("teams", let type) where type.hasPrefix("graph.") && !type.hasPrefix("graph.lifecycle."):
            let resource = payload["resource"]?.stringValue ?? ""
            return make(
                "Teams change: \(payload["changeType"]?.stringValue ?? "notification")", resource, "notification",
                workspace: payload["tenantId"]?.stringValue, user: nil, source: nil, metadata: ["resource": .string(resource)])
        case ("gmail", _):
            let address = payload["emailAddress"]?.stringValue ?? ""
            let history = payload["historyId"]?.stringValue ?? ""
            return make(
                "Gmail notification for \(address)", "New Gmail activity for \(address) (history \(history))", "email_notification",
                workspace: nil, user: address, source: nil, metadata: ["history_id": .string(history)])
        case ("hubspot", let type):
            let object = payload["objectId"].map(Self.text) ?? ""
            var content = "HubSpot \(type) for object \(object)"
            if let property = payload["propertyName"]?.stringValue {
                content += ": \(property) = \(payload["propertyValue"].map(Self.text) ?? "")"
            }
            return make(
                "HubSpot \(type)", content, "crm_change", workspace: payload["portalId"].map(Self.text), user: nil, source: nil,
                metadata: ["object_id": .string(object)])
        default:
            return nil
        }
    }

    /// Whole numbers without a decimal point, strings as they are.
    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .number(let number) where number.rounded() == number && abs(number) < 1e15: return String(Int64(number))
        case .number(let number): return "\(number)"
        default: return ""
        }
    }

    /// Teams sends HTML (`<at>Bot</at> hello`); tags are dropped for indexing.
    private static func plainText(_ html: String) -> String {
        var output = ""
        var inTag = false
        for character in html {
            if character == "<" { inTag = true } else if character == ">" { inTag = false } else if !inTag { output.append(character) }
        }
        return output
    }

    /// Ids that are not valid filter identifiers are not recorded (they could never be filtered on).
    private static func identifier(_ text: String) -> String? { SearchValidation.isIdentifier(text) ? text : nil }
}

extension JSONObject {
    /// These members with `other`'s added (replacing same-named ones).
    func merging(_ other: JSONObject) -> JSONObject {
        var merged = self
        for member in other.members { merged[member.key] = member.value }
        return merged
    }
}
