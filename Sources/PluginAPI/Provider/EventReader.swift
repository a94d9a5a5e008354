/// An event as the log stored it, read back by the provider that stored it.
public struct RecordedEvent: Sendable, Equatable {
    /// The log sequence number.
    public var id: Int64
    public var externalID: String
    public var type: String
    /// When the event happened (seconds since 1970), if the provider said.
    public var occurredAt: Double?
    /// When the hub stored it (seconds since 1970).
    public var receivedAt: Double
    /// The normalised event, as stored.
    public var payload: JSONValue

    public init(id: Int64, externalID: String, type: String, occurredAt: Double?, receivedAt: Double, payload: JSONValue) {
        self.id = id
        self.externalID = externalID
        self.type = type
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.payload = payload
    }
}

/// Read access to the events a provider stored itself (never another provider's), for read models
/// such as insights.
public protocol EventReader: Sendable {
    /// The provider's events whose payload member `field` (a top-level key: letters, digits, `_`)
    /// equals `value` as text (strings as they are, whole numbers in decimal): the newest `limit` of them, oldest first.
    func events(whereField field: String, equals value: String, limit: Int) async throws -> [RecordedEvent]
}

/// Why a stored-event read was refused or failed.
public struct EventReadError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// Throws unless `field` is a plain top-level key that can be used in a JSON path.
    public static func checkField(_ field: String) throws(EventReadError) {
        let allowed = { (c: UInt8) in
            c == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
        }
        guard !field.isEmpty, field.utf8.count <= 64, field.utf8.allSatisfy(allowed) else {
            throw EventReadError("'\(field)' is not a plain payload key (letters, digits, _)")
        }
    }
}

/// The reader of a host that offers no event reads: every read fails.
public struct NoStoredEvents: EventReader {
    public init() {}
    public func events(whereField field: String, equals value: String, limit: Int) async throws -> [RecordedEvent] {
        throw EventReadError("this host does not offer reads of stored events")
    }
}
