import Foundation
import PluginAPI
import PluginTesting
import Synchronization
import Testing

@testable import Host
@testable import Plugins

/// A Teams provider whose `teams.post_message` jobs run on a test queue (ManualClock, `runDueJobs`)
/// against a local fake incoming webhook that answers from a script (then 200 "1").
final class TeamsPostFixture: Sendable {
    /// The part of the webhook URL that is its credential: it must never be logged.
    static let secretPath = "/webhookb2/tenant-0f3a@tenant/IncomingWebhook/c0ffee-never-logged/owner"
    let jobs: JobQueueFixture
    let fake: FakeServer
    let teams: TeamsProvider
    let scheduler: ProviderJobScheduler
    let workers: JobWorkers
    let logs = LogCapture()
    let webhookURL: String

    init(script: [Response] = [], url: ((FakeServer) -> String)? = { $0.url(TeamsPostFixture.secretPath) }) throws {
        jobs = try JobQueueFixture()
        let script = SlackPostFixture.Script(script)
        fake = try FakeServer { _ in script.next() }
        var values: JSONObject = ["clientState": "state"]
        let webhookURL = url?(fake) ?? ""
        self.webhookURL = webhookURL
        if url != nil { values["incomingWebhookURL"] = .string(webhookURL) }
        let settings = ProviderSettings(values: values, specs: TeamsProvider.descriptor.settings, environment: { _ in nil }, secrets: { _ in nil })
        scheduler = ProviderJobScheduler(provider: "teams", kinds: TeamsProvider.descriptor.jobs, queue: jobs.queue)
        let teams = try TeamsProvider(
            context: ProviderContext(
                providerID: "teams", settings: settings, events: RecordingEventLog(clock: jobs.clock).access(for: "teams"),
                logger: logs.logger.labelled("teams"), clock: jobs.clock, http: URLSessionHTTPClient(), publicBaseURL: nil,
                requireAdmin: { request throws(HTTPError) in try AdminToken.authorize(request, expected: TestHub.adminToken) }, jobs: scheduler))
        self.teams = teams
        workers = JobWorkers(
            queue: jobs.queue, kinds: TeamsProvider.descriptor.jobs.map { .init(providerID: "teams", kind: $0) }, provider: { _ in teams },
            configuration: .init(concurrency: 1, lease: 60), logger: logs.logger.labelled("jobs"), owner: "test")
    }

    var clock: ManualClock { jobs.clock }

    func schedule(in delay: Double = 0, text: String = "Hello", title: String? = nil) async throws -> Int64 {
        var payload: JSONObject = ["text": .string(text)]
        if let title { payload["title"] = .string(title) }
        return try await scheduler.enqueue(TeamsProvider.postMessageKind, payload: .object(payload), runAt: clock.now() + delay, priority: 0, idempotencyKey: nil)
    }

    func job(_ id: Int64) async throws -> JobRecord { try #require(try await jobs.queue.job(id)) }

    /// Whether any log line or the job's last error shows the webhook's secret path.
    func leaked(_ id: Int64) async throws -> Bool {
        let lastError = try await job(id).lastError ?? ""
        return (logs.all + [lastError]).contains { $0.contains("c0ffee-never-logged") }
    }

    func close() async {
        await fake.stop()
        jobs.remove()
    }
}

@Suite("Teams incoming webhook messages")
struct TeamsIncomingWebhookTests {
    @Test("A message queued ahead is sent exactly once at its time, as {text, title}")
    func sentOnceAtItsTime() async throws {
        let fixture = try TeamsPostFixture()
        let id = try await fixture.schedule(in: 600, text: "Deploy done", title: "CI")
        #expect(try await fixture.workers.runDueJobs() == 0)
        fixture.clock.advance(by: 599.999)
        #expect(try await fixture.workers.runDueJobs() == 0)
        #expect(fixture.fake.requests.isEmpty)
        fixture.clock.advance(by: 0.001)
        #expect(try await fixture.workers.runDueJobs() == 1)
        fixture.clock.advance(by: 86_400)
        #expect(try await fixture.workers.runDueJobs() == 0)
        let request = try #require(fixture.fake.requests.first)
        #expect(fixture.fake.requests.count == 1)
        #expect(request.method == .POST && request.path == "/webhookb2/tenant-0f3a@tenant/IncomingWebhook/c0ffee-never-logged/owner")
        #expect(try JSONValue.parse(request.body) == ["text": "Deploy done", "title": "CI"])
        #expect(try await fixture.job(id).state == .succeeded)
        #expect(try await !fixture.leaked(id))
        await fixture.close()
    }

    @Test("HTTP 500 then 200: retried with backoff and succeeds; the URL is never logged")
    func serverErrorRetried() async throws {
        let fixture = try TeamsPostFixture(script: [.text("oops", status: 500)])
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let retrying = try await fixture.job(id)
        #expect(retrying.state == .queued && retrying.attempts == 1 && retrying.lastError?.contains("HTTP 500") == true)
        #expect(retrying.lastError?.contains("127.0.0.1:\(fixture.fake.port)") == true)  // Only the host is named.
        #expect(retrying.runAt == fixture.jobs.queue.now + 5000)
        fixture.clock.advance(by: 5)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.job(id).state == .succeeded)
        #expect(fixture.fake.requests.count == 2)
        #expect(fixture.logs.all.contains { $0.contains("HTTP 500") })
        #expect(try await !fixture.leaked(id))
        await fixture.close()
    }

    @Test("410 (webhook removed), 404 and 400 are dead at once with a clear reason")
    func goneIsFatal() async throws {
        for status in [410, 404, 400] {
            let fixture = try TeamsPostFixture(script: [.text("gone", status: status)])
            let id = try await fixture.schedule()
            #expect(try await fixture.workers.runDueJobs() == 1)
            let job = try await fixture.job(id)
            #expect(job.state == .dead && job.attempts == 1 && job.lastError?.contains("HTTP \(status)") == true)
            fixture.clock.advance(by: 86_400)
            #expect(try await fixture.workers.runDueJobs() == 0)
            #expect(fixture.fake.requests.count == 1)
            #expect(try await !fixture.leaked(id))
            await fixture.close()
        }
    }

    @Test("429 with Retry-After: the next attempt is not before it; without it, 30 s")
    func rateLimitHonoured() async throws {
        let fixture = try TeamsPostFixture(script: [Response(status: 429, headers: ["Retry-After": "120"])])
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.job(id).runAt == fixture.jobs.queue.now + 120_000)
        fixture.clock.advance(by: 119.999)
        #expect(try await fixture.workers.runDueJobs() == 0)
        fixture.clock.advance(by: 0.001)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.job(id).state == .succeeded)
        #expect(fixture.fake.requests.count == 2)
        await fixture.close()
        #expect(try TeamsProvider.result(of: OutboundResponse(status: 429), host: "h") == .retry(after: 30))
        #expect(try TeamsProvider.result(of: OutboundResponse(status: 429, headers: ["Retry-After": " 7 "]), host: "h") == .retry(after: 7))
        #expect(try TeamsProvider.result(of: OutboundResponse(status: 202), host: "h") == .success)
    }

    @Test("A transport failure is retried and names only the host")
    func transportFailure() async throws {
        let fixture = try TeamsPostFixture(url: { _ in "http://127.0.0.1:1" + TeamsPostFixture.secretPath })
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try await fixture.job(id)
        #expect(job.state == .queued && job.lastError?.contains("127.0.0.1:1") == true)
        #expect(try await !fixture.leaked(id))
        await fixture.close()
    }

    @Test("Without a webhook URL the job is dead at once, naming the setting")
    func missingURL() async throws {
        let fixture = try TeamsPostFixture(url: nil)
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try await fixture.job(id)
        #expect(job.state == .dead && job.lastError?.contains("TEAMS_INCOMING_WEBHOOK_URL") == true)
        #expect(job.lastError?.contains("incomingWebhookURL") == true)
        await fixture.close()
    }

    @Test("Only the host of a webhook URL is kept for logs")
    func hostOnly() {
        #expect(TeamsProvider.host(of: "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d") == "contoso.webhook.office.com")
        #expect(TeamsProvider.host(of: "https://user:pw@example.com:8443/x?y") == "example.com:8443")
        #expect(TeamsProvider.host(of: "nonsense") == "<invalid URL>")
    }

    @Test("Route: admin token required, bad input is 400, a message is queued")
    func route() async throws {
        let environment = [
            "TEAMS_INCOMING_WEBHOOK_URL": "https://contoso.webhook.office.com\(TeamsPostFixture.secretPath)", "ADMIN_TOKEN": TestHub.adminToken,
        ]
        try await withHub(plugins: TeamsSigner.plugins, environment: environment) { hub in
            let auth = [("Authorization", "Bearer \(TestHub.adminToken)")]
            func post(_ body: JSONValue, headers: [(String, String)] = auth) async throws -> TestResponse {
                try await hub.request("POST", "/api/teams/messages", headers: headers, body: Array(body.jsonString.utf8))
            }
            let good: JSONValue = ["text": "Hi", "title": "T", "post_at": "2099-01-01T09:00:00+01:00"]
            #expect(try await post(good, headers: []).status == 401)
            #expect(try await post(good, headers: [("Authorization", "Bearer wrong-token-0123456789abcdef")]).status == 401)
            for bad: JSONValue in [
                [:], ["text": ""], ["text": 5], ["text": "Hi", "post_at": "tomorrow"], ["text": "Hi", "post_at": "2099-01-01T09:00:00"],
                ["text": "Hi", "post_at": "0722-12-16T04:23:49.702-19:21"], ["text": "Hi", "post_at": 4_070_937_600], ["text": "Hi", "title": 3], ["text": .string(String(repeating: "a", count: 28_001))],
                "not an object",
            ] {
                let response = try await post(bad)
                #expect(response.status == 400, "\(bad.jsonString.prefix(80))")
                #expect(try response.json()["error"] != nil)
            }
            #expect(try await hub.request("POST", "/api/teams/messages", headers: auth, body: Array("{".utf8)).status == 400)

            let created = try await post(good)
            #expect(created.status == 201)
            let id = try #require(try created.json()["id"]?.numberValue).rounded()
            let job = try #require(try await hub.hub.jobQueue.job(Int64(id)))
            #expect(job.kind == "teams.post_message" && job.runAt == 4_070_937_600_000 && job.payload["text"] == "Hi" && job.payload["title"] == "T")

            let now = try await post(["text": "Now"])
            #expect(now.status == 201)
            let nowID = try #require(try now.json()["id"]?.numberValue).rounded()
            #expect(try await hub.hub.jobQueue.job(Int64(nowID))?.payload["text"] == "Now")
        }
    }
}
