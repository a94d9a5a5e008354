import Synchronization
import Testing

@testable import Plugins

@Suite("Search write barrier")
struct WriteBarrierTests {
    @Test("A search waits for the index writes begun before it, and only for those", .timeLimit(.minutes(1)))
    func searchWaitsForEarlierWrites() async throws {
        let barrier = WriteBarrier()
        await barrier.waitForEarlierWrites()  // None in progress: returns at once.
        let log = EventOrder()
        let (first, second) = (Gate(), Gate())
        let firstWrite = Task {
            try await barrier.write {
                await first.pass()
                log.append("first write ended")
            }
        }
        await Blocking.runNonThrowing { first.started.wait() }
        let search = Task {
            await barrier.waitForEarlierWrites()
            log.append("search")
        }
        while barrier.waiting == 0, log.entries.isEmpty { await Task.yield() }  // Waiting, or (wrongly) done.
        let secondWrite = Task { try await barrier.write { await second.pass() } }
        while barrier.waiting < 2 { await Task.yield() }  // The second write waits behind the first too.
        first.open()
        await search.value  // Returns although the second write, begun after the search, now runs.
        await Blocking.runNonThrowing { second.started.wait() }
        #expect(log.entries == ["first write ended", "search"])
        second.open()
        try await firstWrite.value
        try await secondWrite.value
        #expect(barrier.waiting == 0)
    }

    @Test("Writes run one at a time, in the order they began (so memory changes in SQLite's commit order)", .timeLimit(.minutes(1)))
    func writesRunInOrder() async throws {
        let barrier = WriteBarrier()
        let log = EventOrder()
        let first = Gate()
        let firstWrite = Task {
            try await barrier.write {
                await first.pass()
                log.append("first ended")
            }
        }
        await Blocking.runNonThrowing { first.started.wait() }
        let secondWrite = Task { try await barrier.write { log.append("second began") } }
        // Queued behind the first. (Without the ordering it never waits: the bounded poll ends and the order below is wrong.)
        for _ in 0..<100_000 where barrier.waiting == 0 { await Task.yield() }
        #expect(barrier.waiting == 1)
        first.open()
        try await firstWrite.value
        try await secondWrite.value
        #expect(log.entries == ["first ended", "second began"])
    }

    @Test("A write that throws still ends, so searches do not wait for it forever", .timeLimit(.minutes(1)))
    func failedWriteEnds() async {
        struct Failure: Error {}
        let barrier = WriteBarrier()
        await #expect(throws: Failure.self) { try await barrier.write { throw Failure() } }
        await barrier.waitForEarlierWrites()
    }
}

/// What happened, in order, across tasks.
private final class EventOrder: Sendable {
    private let log = Mutex<[String]>([])
    var entries: [String] { log.withLock { $0 } }
    func append(_ entry: String) { log.withLock { $0.append(entry) } }
}
