import Foundation
import PluginAPI
import Synchronization
import Testing

@testable import Host

/// A provider whose webhook queues a job of its own kind; the job records its payload.
final class QueueingProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "queueing", displayName: "Queueing",
        routes: [
            .post("/api/webhooks/queueing") { (provider: QueueingProvider, request) in
                let payload = try JSONValue.parse(request.body)
                let id = try await provider.jobs.enqueue("queueing.echo", payload: payload, idempotencyKey: request.headers["Idempotency-Key"])
                return .json(["job": .number(Double(id))], status: 202)
            }
        ],
        jobs: [
            .job("queueing.echo") { (_: QueueingProvider, payload) in
                QueueingProvider.ran.withLock { $0.append(payload) }
                QueueingProvider.ranBell.ring()
                return .success
            }
        ])

    static let ran = Mutex<[JSONValue]>([])
    static let ranBell = Doorbell()
    let jobs: any JobScheduler

    init(context: ProviderContext) throws { jobs = context.jobs }
}

final class SameJobKindProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "samekind", displayName: "Same kind", routes: [], jobs: [.job("queueing.echo") { (_: SameJobKindProvider, _) in .success }])
    init(context: ProviderContext) throws {}
}

@Suite("Jobs in the hub")
struct HubJobsTests {
    @Test("A provider queues a job from its webhook; the hub's workers run it with the provider instance")
    func webhookQueuesJob() async throws {
        try await withHub(plugins: #"{"providers": {"queueing": {"enabled": true}}}"#, providerTypes: [QueueingProvider.self]) { hub in
            let generation = QueueingProvider.ranBell.generation
            let response = try await hub.request("POST", "/api/webhooks/queueing", headers: [("Idempotency-Key", "hub-job-1")], body: Array(#"{"n":7}"#.utf8))
            #expect(response.status == 202)
            let id = try #require(try response.json()["job"]?.numberValue).rounded()
            await QueueingProvider.ranBell.wait(since: generation)
            // Shutting the workers down waits for the slot to record the result.
            let workers = hub.hub.jobWorkers
            await Blocking.runNonThrowing { workers.shutdown(deadline: 600) }
            let job = try #require(try await hub.hub.jobQueue.job(Int64(id)))
            #expect(job.state == .succeeded && job.kind == "queueing.echo" && job.payload == ["n": 7])
            #expect(QueueingProvider.ran.withLock { $0.contains(["n": 7]) })
        }
    }

    @Test("A job kind declared by two providers stops startup, naming both")
    func duplicateKind() throws {
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [QueueingProvider.self, SameJobKindProvider.self])
        }
        #expect(error?.description.contains("provider 'queueing'") == true)
        #expect(error?.description.contains("provider 'samekind'") == true)
    }

    @Test("A provider can only queue the kinds it declared, at a representable time")
    func undeclaredKindRefused() async throws {
        let fixture = try JobQueueFixture()
        defer { fixture.remove() }
        let scheduler = ProviderJobScheduler(provider: "queueing", kinds: QueueingProvider.descriptor.jobs, queue: fixture.queue)
        await #expect(throws: ProviderSetupError.self) { try await scheduler.enqueue("other.kind", payload: nil) }
        for runAt in [Double.infinity, .nan, 1e300, -1] {
            await #expect(throws: ProviderSetupError.self, "\(runAt)") { try await scheduler.enqueue("queueing.echo", payload: nil, runAt: runAt, priority: 0, idempotencyKey: nil) }
        }
        let id = try await scheduler.enqueue("queueing.echo", payload: nil)
        #expect(try await fixture.queue.job(id)?.maxAttempts == 5)
    }

    @Test("The admin API lists jobs, shows one, retries a dead job and cancels a queued one")
    func adminRoutes() async throws {
        try await withHub { hub in
            let queue = hub.hub.jobQueue
            let id = try await queue.enqueue(kind: "nobody.runs.this", payload: ["to": "x"])
            _ = try await queue.claim(owner: "test", limit: 1, lease: 60, kinds: ["nobody.runs.this"])
            #expect(try await queue.finish(id, owner: "test", .fatal("bad request")) == .dead)
            let auth = [("Authorization", "Bearer \(TestHub.adminToken)")]

            let dead = try await hub.admin("/api/admin/jobs?state=dead").json()["jobs"]?.arrayValue ?? []
            #expect(dead.count == 1 && dead.first?["last_error"] == "bad request" && dead.first?["payload"] == ["to": "x"])
            #expect(try await hub.admin("/api/admin/jobs/\(id)").json()["job"]?["state"] == "dead")
            #expect(try await hub.admin("/api/admin/jobs/999999").status == 404)
            #expect(try await hub.admin("/api/admin/jobs?state=lost").status == 400)
            #expect(try await hub.request("POST", "/api/admin/jobs/\(id)/retry").status == 401)

            let retried = try await hub.request("POST", "/api/admin/jobs/\(id)/retry", headers: auth)
            #expect(retried.status == 200)
            #expect(try retried.json()["job"]?["state"] == "queued" && retried.json()["job"]?["attempts"] == 0)
            #expect(try await hub.request("POST", "/api/admin/jobs/\(id)/retry", headers: auth).status == 409)
            let cancelled = try await hub.request("POST", "/api/admin/jobs/\(id)/cancel", headers: auth)
            #expect(try cancelled.status == 200 && cancelled.json()["job"]?["state"] == "cancelled")
            #expect(try await hub.request("POST", "/api/admin/jobs/\(id)/cancel", headers: auth).status == 409)
        }
    }
}
