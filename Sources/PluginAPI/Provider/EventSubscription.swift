/// An event from the hub's log as a subscription receives it: any provider's, with its log sequence number.
public struct SubscribedEvent: Sendable, Equatable {
    /// The log sequence number; subscriptions see events in increasing `id` order.
    public var id: Int64
    /// The provider that stored it (`slack`).
    public var provider: String
    public var externalID: String
    public var type: String
    /// When the event happened (seconds since 1970), if the provider said.
    public var occurredAt: Double?
    /// When the hub stored it (seconds since 1970).
    public var receivedAt: Double
    /// The normalised event, as stored.
    public var payload: JSONValue

    public init(id: Int64, provider: String, externalID: String, type: String, occurredAt: Double?, receivedAt: Double, payload: JSONValue) {
        self.id = id
        self.provider = provider
        self.externalID = externalID
        self.type = type
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.payload = payload
    }
}

/// A provider's standing interest in the event log (search indexing, forwarding).
///
/// Declared in the descriptor like routes and jobs. The host runs one cursor per subscription over
/// the log, persisted in its database, woken whenever new events are committed (never on the path
/// that acknowledges a webhook). The cursor moves past an event only after the handler returned, so
/// delivery is at-least-once: after a crash or a failed batch an event can be handled again, and
/// handlers must be idempotent. A thrown error is logged and the same event retried with backoff.
///
/// ```swift
/// .subscribe("index", providers: ["slack"], types: ["message"]) { (search: SearchProvider, event) in
///     try await search.index(event)
/// }
/// ```
public struct EventSubscription: Sendable {
    /// The handler, with the provider passed as an existential; made by ``subscribe(_:providers:types:summary:_:)``.
    public typealias Handler = @Sendable (any Provider, SubscribedEvent) async throws -> Void

    /// The name, unique within the provider; the cursor is stored under `<provider id>.<name>`.
    public var name: String
    /// Only events stored by these providers; nil for every provider.
    public var providers: [String]?
    /// Only events of these types; nil for every type.
    public var types: [String]?
    /// A one-line description for the admin page.
    public var summary: String
    public var handler: Handler

    public init(name: String, providers: [String]? = nil, types: [String]? = nil, summary: String = "", handler: @escaping Handler) {
        self.name = name
        self.providers = providers
        self.types = types
        self.summary = summary
        self.handler = handler
    }

    /// A subscription whose handler receives the concrete provider type.
    public static func subscribe<P: Provider>(
        _ name: String, providers: [String]? = nil, types: [String]? = nil, summary: String = "",
        _ handler: @escaping @Sendable (P, SubscribedEvent) async throws -> Void
    ) -> EventSubscription {
        EventSubscription(name: name, providers: providers, types: types, summary: summary) { provider, event in
            guard let typed = provider as? P else {
                throw ProviderSetupError("subscription \(name) belongs to \(P.self), not \(type(of: provider))")
            }
            try await handler(typed, event)
        }
    }
}
