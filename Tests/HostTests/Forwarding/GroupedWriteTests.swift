import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Grouped writes share the event log's commit")
struct GroupedWriteTests {
    @Test("A grouped write commits with the appends around it; one that throws rolls back only its own changes")
    func savepoints() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try EventLog(dataDirectory: directory, logger: .disabled)
        try await log.write { connection in try connection.execute("CREATE TABLE scratch (x INTEGER)") }
        struct Refused: Error {}
        async let kept: Int = log.groupedWrite { connection in
            try connection.execute("INSERT INTO scratch (x) VALUES (1)")
            return 1
        }
        let refused = Task {
            try await log.groupedWrite { connection in
                try connection.execute("INSERT INTO scratch (x) VALUES (2)")
                throw Refused()
            }
        }
        async let appended = log.append(provider: "p", events: [NewEvent(externalID: "e1", type: "t", occurredAt: nil, rawBody: [], payload: nil)])
        #expect(try await kept == 1)
        await #expect(throws: Refused.self) { try await refused.value }
        #expect(try await appended.count == 1)
        let rows = try await log.write { connection in try connection.scalarText("SELECT group_concat(x) FROM scratch") }
        #expect(rows == "1")
        #expect(try await log.recent(provider: "p", limit: 10).map(\.externalID) == ["e1"])
        log.close()
        await #expect(throws: EventLogError.self) { try await log.groupedWrite { _ in 0 } }
    }
}
