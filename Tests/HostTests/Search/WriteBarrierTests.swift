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
        while barrier.waitingSearches == 0, log.entries.isEmpty { await Task.yield() }  // Waiting, or (wrongly) done.
        let secondWrite = Task { try await barrier.write { await second.pass() } }
        await Blocking.runNonThrowing { second.started.wait() }
        first.open()
        await search.value  // Returns although the second write, begun after the search, still runs.
        #expect(log.entries == ["first write ended", "search"])
        second.open()
        try await firstWrite.value
        try await secondWrite.value
        #expect(barrier.waitingSearches == 0)
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
