import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Event log")
struct EventLogTests {
    @Test("External ids that differ only after a NUL byte are distinct events")
    func nulInExternalID() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let log = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { log.close() }
        let outcomes = try await log.append(
            provider: "test",
            events: ["a\u{0}b", "a\u{0}c", "a\u{0}b"].map { NewEvent(externalID: $0, type: "t", rawBody: [], payload: [:]) })
        #expect(outcomes.filter { $0 != .duplicate }.count == 2)
        #expect(outcomes.last == .duplicate)
        let stored = try await log.recent(provider: "test", limit: 10).map(\.externalID)
        #expect(Set(stored) == ["a\u{0}b", "a\u{0}c"])
    }
}
