import PluginAPI

extension StoredEvent {
    /// The normalised event as JSON. The hub stores it as JSON text, so a row that does not parse was
    /// edited by hand: it is shown as the text it holds rather than failing the whole answer.
    var payloadJSON: JSONValue {
        (try? JSONValue.parse(payload)) ?? .string(payload)
    }
}
