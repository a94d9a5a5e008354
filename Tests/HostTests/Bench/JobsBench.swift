import Foundation
import PluginAPI
import Testing

@testable import Host

/// The harness behind `bench/jobs.sh`: job enqueue and completion rates for no-op jobs, and delivery
/// throughput to a local destination, each next to a peer measured in the same run (a bare durable
/// SQLite transaction; the same HTTP client POSTing straight to the same receiver). Prints
/// `BENCH name count seconds rate` lines and asserts nothing about time. Skipped unless `ATOM_BENCH=1`.
@Suite("Jobs benchmarks", .enabled(if: ProcessInfo.processInfo.environment["ATOM_BENCH"] == "1"), .serialized)
struct JobsBench {
    static let jobs = Int(ProcessInfo.processInfo.environment["JOBS"] ?? "") ?? 2000
    static let events = Int(ProcessInfo.processInfo.environment["EVENTS"] ?? "") ?? 1000

    static func report(_ name: String, count: Int, nanoseconds: UInt64) {
        let seconds = Double(nanoseconds) / 1e9
        print(String(format: "BENCH %@ %d %.3f %.0f", name, count, seconds, Double(count) / seconds))
    }

    /// Times `body` and reports `count` operations.
    static func measure(_ name: String, count: Int, _ body: () async throws -> Void) async rethrows {
        let start = System.monotonicNanoseconds()
        try await body()
        report(name, count: count, nanoseconds: System.monotonicNanoseconds() - start)
    }

    /// Polls `done` every 5 ms (the bench's resolution) until it holds.
    static func until(_ done: () async throws -> Bool) async rethrows {
        while try await !done() { try? await Task.sleep(for: .milliseconds(5)) }  // A cancelled sleep just polls sooner.
    }

    @Test("No-op jobs: enqueue one after another and from 16 clients (group-committed), completion by 4 workers; peer: a bare durable insert")
    func noopJobs() async throws {
        let fixture = try WorkerFixture(concurrency: 4)
        defer { fixture.jobs.remove() }
        let log = fixture.jobs.log
        try await log.write { connection in try connection.execute("CREATE TABLE bench_peer (x INTEGER)") }
        /// The peer: `count` one-row durable INSERT transactions, one after another.
        func peerInserts(_ count: Int) async throws {
            for index in 0..<count {
                try await log.write { connection in
                    try connection.transaction {
                        let insert = try connection.prepare("INSERT INTO bench_peer (x) VALUES (?)")
                        try insert.bind(1, Int64(index))
                        try insert.run()
                    }
                }
            }
        }
        try await peerInserts(Self.jobs)  // Warm-up: the first commits of a fresh file also grow the WAL.
        try await Self.measure("peer_sqlite_durable_insert", count: Self.jobs) { try await peerInserts(Self.jobs) }
        try await Self.measure("job_enqueue_sequential", count: Self.jobs) {
            for index in 0..<Self.jobs { try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["key": .string("s\(index)")]) }
        }
        try await Self.measure("job_enqueue_16_concurrent", count: Self.jobs) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<16 {
                    group.addTask {
                        for index in stride(from: client, to: Self.jobs, by: 16) {
                            try await fixture.queue.enqueue(kind: "jobtest.run", payload: ["key": .string("c\(index)")], idempotencyKey: "c\(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let total = 2 * Self.jobs
        await Self.measure("job_complete_noop_4_workers", count: total) {
            fixture.workers.start()
            await Self.until { fixture.provider.effects.withLock { $0.count } >= total }
        }
        let workers = fixture.workers
        await Blocking.runNonThrowing { workers.shutdown(deadline: 60) }
        #expect(try await fixture.queue.jobs(state: .succeeded, limit: 1).count == 1)
    }

    @Test("Deliveries: stored events to 1 and to 4 local destinations, and event append latency meanwhile (0 destinations: the baseline); peer: the same client POSTing serially")
    func deliveries() async throws {
        let receiver = try FakeServer { _ in Response(status: 200) }
        let client = URLSessionHTTPClient()
        let body = Array(#"{"id":1,"provider":"slack","type":"message","received_at":1700000000,"payload":{}}"#.utf8)
        try await Self.measure("peer_http_post_serial", count: Self.events) {
            for _ in 0..<Self.events { _ = try await client.send(OutboundRequest(method: .POST, url: receiver.url("/peer"), body: body)) }
        }
        for destinations in [0, 1, 4] {
            let before = receiver.requests.count
            let list = (0..<destinations).map { Forwarding.destination("d\($0)", url: receiver.url("/d\($0)")) }
            let hub = try TestHub(plugins: Forwarding.plugins(list))
            let count = Self.events * destinations
            var latencies: [UInt64] = []
            let start = System.monotonicNanoseconds()
            // Events arrive as concurrent webhooks would: 16 appenders, group-committed; each append's latency is an acknowledgement's.
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for appender in 0..<16 {
                    group.addTask {
                        var own: [UInt64] = []
                        for index in stride(from: appender, to: Self.events, by: 16) {
                            let event = NewEvent(externalID: "bench-\(index)", type: "message", occurredAt: nil, rawBody: [], payload: ["n": .number(Double(index))])
                            let begin = System.monotonicNanoseconds()
                            _ = try await hub.hub.eventLog.append(provider: "slack", events: [event])
                            own.append(System.monotonicNanoseconds() - begin)
                        }
                        return own
                    }
                }
                for try await own in group { latencies += own }
            }
            if destinations > 0 {
                await Self.until { receiver.requests.count - before >= count }
                Self.report("delivery_\(destinations)_destinations", count: count, nanoseconds: System.monotonicNanoseconds() - start)
            }
            latencies.sort()
            print(
                String(
                    format: "BENCH append_ack_with_%d_destinations_p50_p99_ms %d %.3f %.3f", destinations, latencies.count,
                    Double(latencies[latencies.count / 2]) / 1e6, Double(latencies[latencies.count * 99 / 100]) / 1e6))
            await hub.stop()
        }
        await receiver.stop()
    }
}
