import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("Provider event reads: the hub's SQLite log and the kit's in-memory log agree")
struct EventReaderTests {
    static let events: [NewEvent] = [
        NewEvent(externalID: "1", type: "a", rawBody: [], payload: ["objectId": 123, "name": "x"]),
        NewEvent(externalID: "2", type: "b", rawBody: [], payload: ["objectId": "123", "name": "y"]),
        NewEvent(externalID: "3", type: "c", rawBody: [], payload: ["objectId": 1234, "flag": true]),
        NewEvent(externalID: "4", type: "d", rawBody: [], payload: ["objectId": 123.5]),
        NewEvent(externalID: "5", type: "e", rawBody: [], payload: ["nested": ["objectId": 123]]),
        NewEvent(externalID: "6", type: "f", rawBody: [], payload: ["objectId": 123]),
    ]

    /// (field, value, limit) → the external ids expected, oldest first.
    static let queries: [(String, String, Int, [String])] = [
        ("objectId", "123", 10, ["1", "2", "6"]),
        ("objectId", "123", 2, ["2", "6"]),
        ("objectId", "1234", 10, ["3"]),
        ("name", "y", 10, ["2"]),
        ("flag", "1", 10, ["3"]),
        ("missing", "123", 10, []),
    ]

    @Test("Matching on a payload field, newest-limited, scoped to the provider")
    func readsAgree() async throws {
        try await withHub { hub in
            let sqlite = ProviderEventSink(provider: "p", log: hub.hub.eventLog)
            _ = try await sqlite.append(Self.events)
            _ = try await ProviderEventSink(provider: "other", log: hub.hub.eventLog).append(Self.events)
            let memoryLog = RecordingEventLog(clock: SystemClock())
            _ = memoryLog.append(provider: "p", events: Self.events)
            _ = memoryLog.append(provider: "other", events: Self.events)
            let memory = memoryLog.access(for: "p")
            for (field, value, limit, expected) in Self.queries {
                let fromSQLite = try await sqlite.events(whereField: field, equals: value, limit: limit).map(\.externalID)
                let fromMemory = try await memory.events(whereField: field, equals: value, limit: limit).map(\.externalID)
                #expect(fromSQLite == expected, "SQLite: \(field) = \(value), limit \(limit)")
                #expect(fromMemory == expected, "in memory: \(field) = \(value), limit \(limit)")
            }
            let read = try #require(try await sqlite.events(whereField: "name", equals: "x", limit: 1).first)
            #expect(read.type == "a")
            #expect(read.payload == ["objectId": 123, "name": "x"])
        }
    }

    @Test("Field names that are not plain keys are refused", arguments: ["", "a.b", "$.x", "a'b", "a\"b"])
    func badFieldNames(_ field: String) async throws {
        try await withHub { hub in
            let sqlite = ProviderEventSink(provider: "p", log: hub.hub.eventLog)
            await #expect(throws: EventReadError.self) { try await sqlite.events(whereField: field, equals: "1", limit: 1) }
        }
    }
}
