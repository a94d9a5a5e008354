import CLinux
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

    @Test("Commits are answered only after the write-ahead log is fsynced; when that fails nothing is acknowledged, from then on")
    func answersWaitForTheSync() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let healthy = try EventLog(dataDirectory: directory, logger: .disabled)
        let stored = try await healthy.append(provider: "test", events: [NewEvent(externalID: "ok", type: "t", rawBody: [], payload: [:])])
        #expect(stored.first != .duplicate)
        healthy.close()

        // The syncer is pointed at a file that does not exist, so its fsync fails.
        let capture = LogCapture()
        let failing = try EventLog(dataDirectory: directory, logger: capture.logger, walPath: directory.appendingPathComponent("missing-wal").path)
        defer { failing.close() }
        for id in ["first", "second"] {
            await #expect(throws: EventLogError.self, "\(id)") {
                try await failing.append(provider: "test", events: [NewEvent(externalID: id, type: "t", rawBody: [], payload: [:])])
            }
        }
        await #expect(throws: EventLogError.self) { try await failing.write { connection in try connection.scalarText("SELECT 1") } }
        await #expect(throws: (any Error).self) { try await failing.groupedWrite { _ in 1 } }
        #expect(capture.all.contains { $0.contains("could not be made durable") && $0.contains("missing-wal") })
    }

    @Test("The write-ahead log is zero-filled before the first commit, commits write inside it, and a copy taken mid-run recovers every acknowledged event")
    func preallocatedLogRecovers() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let walPath = data.appendingPathComponent(Database.fileName).path + "-wal"
        let size = 2 << 20
        let log = try EventLog(dataDirectory: data, logger: .disabled, walPreallocation: size)
        defer { log.close() }
        #expect(try Self.fileSize(walPath) == size)
        let events = (0..<200).map { NewEvent(externalID: "e\($0)", type: "t", rawBody: Array("body \($0)".utf8), payload: ["n": .number(Double($0))]) }
        for batch in stride(from: 0, to: events.count, by: 20) {
            _ = try await log.append(provider: "test", events: Array(events[batch..<batch + 20]))
        }
        #expect(try Self.fileSize(walPath) == size, "commits overwrite the zeros instead of extending the file")

        // What a crash leaves: the database file and the log (frames, then zeros), without the shared-memory index.
        let copy = directory.appendingPathComponent("copy")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(atPath: data.appendingPathComponent(Database.fileName).path + suffix, toPath: copy.appendingPathComponent(Database.fileName).path + suffix)
        }
        let recovered = try EventLog(dataDirectory: copy, logger: .disabled)
        defer { recovered.close() }
        let stored = try await recovered.recent(provider: "test", limit: 1000)
        #expect(Set(stored.map(\.externalID)) == Set(events.map(\.externalID)))
        #expect(try await recovered.append(provider: "test", events: [events[0]]) == [.duplicate])
    }

    @Test(
        "Under steady writes the log wraps to its start inside the zeroed part instead of growing, and keeps every event",
        arguments: [4096, 8192])
    func logWrapsInsideTheZeros(pageSize: Int) async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let walPath = directory.appendingPathComponent(Database.fileName).path + "-wal"
        // A database made elsewhere may have pages of another size; the wrap counts frames of that size.
        try SQLiteConnection(path: directory.appendingPathComponent(Database.fileName).path)
            .execute("PRAGMA page_size = \(pageSize); CREATE TABLE made_elsewhere (x)")  // Closed when released.
        let size = 16 << 20
        let capture = LogCapture()
        // Without the checkpoint thread, which restarts the log itself whenever it catches up between two
        // commits (on a busy machine, every time): only the writer's wrap can keep the log in the zeros.
        let log = try EventLog(dataDirectory: directory, logger: capture.logger, walPreallocation: size, backgroundCheckpoints: false)
        defer { log.close() }
        // 300 commits of 20 events with 4 KiB bodies: about 45 frames each, more than three times the 16 MiB.
        let body = [UInt8](repeating: UInt8(ascii: "w"), count: 4096)
        for commit in 0..<300 {
            _ = try await log.append(
                provider: "test", events: (0..<20).map { NewEvent(externalID: "c\(commit)-\($0)", type: "t", rawBody: body, payload: [:]) })
        }
        #expect(try Self.fileSize(walPath) == size, "the log never grew past the zeros")
        let wraps = capture.all.filter { $0.hasPrefix("debug test wrap checkpoint ") && $0.contains("busy=0") }
        #expect(wraps.count >= 2, "the writer wrapped the log each time it reached the end of the zeros: \(wraps.count)")
        #expect(try await log.recent(provider: "test", limit: 10_000).count == 6000)
    }

    /// Whether cachestat (Linux 6.5) answers here; older kernels and some container profiles refuse it.
    static let kernelReportsDirtyPages: Bool = {
        let file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        defer { if file >= 0 { close(file) } }
        return file >= 0 && atom_dirty_pages(file) >= 0
    }()

    @Test(
        "The checkpoint thread flushes the database file after a checkpoint that SQLite leaves unflushed",
        .enabled(if: kernelReportsDirtyPages, "needs cachestat (Linux 6.5)"))
    func checkpointsFlushTheDatabaseFile() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }  // Best effort cleanup.
        let capture = LogCapture()
        let log = try EventLog(dataDirectory: directory, logger: capture.logger)
        defer { log.close() }
        let body = [UInt8](repeating: UInt8(ascii: "f"), count: 16 * 1024)
        func append(_ batch: Int) async throws {
            _ = try await log.append(
                provider: "test", events: (0..<40).map { NewEvent(externalID: "f\(batch)-\($0)", type: "t", rawBody: body, payload: [:]) })
        }
        // 40 events of 16 KiB: about 200 frames, fewer than a checkpoint request needs.
        try await append(0)
        // A reader's snapshot: checkpoints copy no frame after it, so none copies the whole log, and
        // SQLite itself flushes the database file only after one that does.
        let reader = try SQLiteConnection(path: directory.appendingPathComponent(Database.fileName).path, readOnly: true)
        try reader.execute("BEGIN")
        #expect(try reader.scalarText("SELECT count(*) FROM events") == "40")
        try await append(1)  // Past the threshold: the checkpoint thread copies the first batch.
        let flushed = await Blocking.runNonThrowing {
            for _ in 0..<3000 where !capture.all.contains(where: { $0.hasPrefix("debug test database file flushed") }) { usleep(10_000) }
            return capture.all.contains { $0.hasPrefix("debug test database file flushed") }
        }
        #expect(flushed, "the checkpoint thread flushed the database file")
        let copied = capture.all.filter { $0.hasPrefix("debug test checkpoint ") && !$0.contains("copied=0") }
        #expect(!copied.isEmpty, "the checkpoint copied frames into the database file")
        let file = open(directory.appendingPathComponent(Database.fileName).path, O_RDONLY | O_CLOEXEC)
        #expect(file >= 0)
        defer { close(file) }
        #expect(atom_dirty_pages(file) == 0, "no page the checkpoint wrote is left for the wrap's fsync")
        try reader.execute("COMMIT")
    }

    private static func fileSize(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
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
