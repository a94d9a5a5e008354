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

    @Test("WAL checkpoints run on the checkpoint thread, not in the commit, and copy the log into the database file")
    func checkpointsLeaveTheCommitPath() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let capture = LogCapture()
        let log = try EventLog(dataDirectory: directory, logger: capture.logger)
        // 400 events of 16 KiB: about 1,600 WAL pages, past the 1,000-page threshold.
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)
        for batch in 0..<4 {
            _ = try await log.append(
                provider: "test",
                events: (0..<100).map { NewEvent(externalID: "e\(batch)-\($0)", type: "t", rawBody: body, payload: [:]) })
        }
        log.close()  // Runs the checkpoint still pending before the thread stops.
        // The first request comes with at least 1,000 frames in the log, and no reader holds any back.
        let copied = capture.all.filter { $0.hasPrefix("debug test checkpoint ") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("copied=") }.flatMap { Int($0.dropFirst("copied=".count)) }
        }
        #expect(copied.contains { $0 >= Int(Checkpointer.walPagesThreshold) })
    }
}
