/// An event a provider extracted from a verified webhook, ready to be stored.
public struct NewEvent: Sendable {
    /// The provider's own id for the event; duplicates (same provider and external id) are stored once.
    public var externalID: String
    /// The event type (`message`, `contact.creation`).
    public var type: String
    /// When the event happened, in seconds since 1970, if the provider says.
    public var occurredAt: Double?
    /// The webhook body exactly as received.
    public var rawBody: [UInt8]
    /// The normalised event, as JSON.
    public var payload: JSONValue

    public init(externalID: String, type: String, occurredAt: Double? = nil, rawBody: [UInt8], payload: JSONValue) {
        self.externalID = externalID
        self.type = type
        self.occurredAt = occurredAt
        self.rawBody = rawBody
        self.payload = payload
    }
}

/// What happened to one appended event.
public enum AppendOutcome: Sendable, Equatable {
    /// Stored now, with its log sequence number.
    case stored(id: Int64)
    /// Already in the log (a retry or redelivery); not stored again.
    case duplicate
}

/// The durable event log, as a provider sees it.
public protocol EventSink: Sendable {
    /// Appends events in one transaction and returns once they are committed and fsynced;
    /// acknowledge the webhook only after this returns. Throws when they could not be stored.
    func append(_ events: [NewEvent]) async throws -> [AppendOutcome]
}
