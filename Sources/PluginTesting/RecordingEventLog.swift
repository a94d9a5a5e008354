import PluginAPI
import Synchronization

/// An in-memory event log with the hub's semantics: events deduplicated per provider and external id,
/// readable back by the provider that stored them.
public final class RecordingEventLog: Sendable {
    private struct State {
        var events: [(provider: String, event: RecordedEvent)] = []
        var keys: Set<String> = []
    }

    private let state = Mutex(State())
    private let clock: any WallClock

    /// A log that stamps events with `clock`'s time.
    public init(clock: any WallClock) { self.clock = clock }

    /// Stores `events` for `provider`, once per external id.
    public func append(provider: String, events: [NewEvent]) -> [AppendOutcome] {
        let now = clock.now()
        return state.withLock { state in
            events.map { event in
                guard state.keys.insert("\(provider)\u{0}\(event.externalID)").inserted else { return .duplicate }
                let id = Int64(state.events.count + 1)
                state.events.append(
                    (
                        provider,
                        RecordedEvent(
                            id: id, externalID: event.externalID, type: event.type, occurredAt: event.occurredAt, receivedAt: now,
                            payload: event.payload)
                    ))
                return .stored(id: id)
            }
        }
    }

    /// Every event of `provider`, oldest first.
    public func events(provider: String) -> [RecordedEvent] {
        state.withLock { $0.events.filter { $0.provider == provider }.map(\.event) }
    }

    /// The sink and reader handed to the provider `id`.
    public func access(for provider: String) -> some EventSink & EventReader { ProviderAccess(provider: provider, log: self) }

    private struct ProviderAccess: EventSink, EventReader {
        let provider: String
        let log: RecordingEventLog

        func append(_ events: [NewEvent]) async throws -> [AppendOutcome] { log.append(provider: provider, events: events) }

        func events(whereField field: String, equals value: String, limit: Int) async throws -> [RecordedEvent] {
            try EventReadError.checkField(field)
            return Array(log.events(provider: provider).filter { $0.payload[field].flatMap(Self.text) == value }.suffix(limit))
        }

        /// A member as SQLite's `CAST(json_extract(...) AS TEXT)` gives it.
        private static func text(_ value: JSONValue) -> String? {
            switch value {
            case .null: nil
            case .string(let text): text
            case .bool(let flag): flag ? "1" : "0"
            case .number(let number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
            case .array, .object: value.jsonString
            }
        }
    }
}
