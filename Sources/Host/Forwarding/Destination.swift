import Foundation
import PluginAPI

/// A service that receives a provider's stored events, as listed under `destinations` in plugins.json:
/// `{"id": "crm", "url": "https://crm.example/hooks", "eventTypes": ["message"], "secret": "whsec_…"}`.
struct Destination: Sendable, Equatable {
    /// Unique across all providers; the admin API names destinations by it.
    let id: String
    /// The provider whose events it receives.
    let provider: String
    /// An absolute http(s) URL.
    let url: String
    /// The event types it receives; nil receives every type.
    let eventTypes: Set<String>?
    /// A `whsec_` secret, or an `env:NAME` / `secret:NAME` reference to one (resolved at startup).
    let secret: String

    /// Whether an event of `provider` and `type` goes to this destination.
    func matches(provider: String, type: String) -> Bool {
        provider == self.provider && (eventTypes?.contains(type) ?? true)
    }

    static let keys = ["id", "url", "eventTypes", "secret"]

    /// Parses one provider's `destinations` array strictly; `key` (`providers.slack.destinations`) names errors.
    static func parseList(_ value: JSONValue, provider: String, file: String, key: String) throws(ConfigurationError) -> [Destination] {
        guard let items = value.arrayValue else { throw ConfigurationError(file: file, key: key, problem: "expected an array of destinations") }
        var destinations: [Destination] = []
        for (index, item) in items.enumerated() {
            let destination = try parse(item, provider: provider, file: file, key: "\(key)[\(index)]")
            if destinations.contains(where: { $0.id == destination.id }) {
                throw ConfigurationError(file: file, key: "\(key)[\(index)].id", problem: "duplicate destination id '\(destination.id)'")
            }
            destinations.append(destination)
        }
        return destinations
    }

    private static func parse(_ value: JSONValue, provider: String, file: String, key: String) throws(ConfigurationError) -> Destination {
        guard let object = value.objectValue else {
            throw ConfigurationError(file: file, key: key, problem: "expected an object with \"id\", \"url\", \"secret\" and optional \"eventTypes\"")
        }
        for member in object.members where !keys.contains(member.key) {
            throw ConfigurationError(file: file, key: "\(key).\(member.key)", problem: "unknown key; expected \(keys.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        func string(_ name: String) throws(ConfigurationError) -> String {
            guard let text = object[name]?.stringValue, !text.isEmpty else {
                throw ConfigurationError(file: file, key: "\(key).\(name)", problem: "expected a non-empty string")
            }
            return text
        }
        let id = try string("id")
        guard id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ConfigurationError(file: file, key: "\(key).id", problem: "use at most 64 letters, digits, '-', '_' or '.'")
        }
        let url = try string("url")
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError(file: file, key: "\(key).url", problem: "expected an absolute http or https URL")
        }
        let secret = try string("secret")
        if !secret.hasPrefix("env:") && !secret.hasPrefix("secret:") {
            do { _ = try StandardWebhookSignature(secret: secret) } catch {
                throw ConfigurationError(file: file, key: "\(key).secret", problem: "\(error) (or use env:NAME or secret:NAME)")
            }
        }
        var eventTypes: Set<String>?
        if let types = object["eventTypes"] {
            guard let list = types.arrayValue, !list.isEmpty, list.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                throw ConfigurationError(file: file, key: "\(key).eventTypes", problem: "expected a non-empty array of event type names (omit it for every type)")
            }
            eventTypes = Set(list.compactMap(\.stringValue))
        }
        return Destination(id: id, provider: provider, url: url, eventTypes: eventTypes, secret: secret)
    }
}

/// A destination with its signing key resolved, ready to deliver to.
struct ForwardingTarget: Sendable {
    let destination: Destination
    let signature: StandardWebhookSignature
}
