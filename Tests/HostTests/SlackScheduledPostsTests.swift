import Foundation
import PluginAPI
import PluginTesting
import Synchronization
import Testing

@testable import Host
@testable import Plugins

/// A Slack provider whose `slack.post_message` jobs run on a test queue (ManualClock, `runDueJobs`)
/// against a local fake Slack Web API that answers from a script (then `{"ok":true}`).
final class SlackPostFixture: Sendable {
    static let token = "xoxb-test-token-never-logged"
    let jobs: JobQueueFixture
    let fake: FakeServer
    let slack: SlackProvider
    let scheduler: ProviderJobScheduler
    let workers: JobWorkers
    let logs = LogCapture()

    /// Scripted answers, one per request, then `{"ok":true}`.
    final class Script: Sendable {
        private let answers: Mutex<[Response]>
        init(_ answers: [Response]) { self.answers = Mutex(answers) }
        func next() -> Response { answers.withLock { $0.isEmpty ? nil : $0.removeFirst() } ?? .json(["ok": true, "ts": "1700000000.000100"]) }
    }

    init(
        botToken: String? = SlackPostFixture.token, script: [Response] = [], environment: [String: String] = [:], secrets: [String: String] = [:]
    ) throws {
        jobs = try JobQueueFixture()
        let script = Script(script)
        fake = try FakeServer { _ in script.next() }
        var values: JSONObject = ["signingSecret": "signing", "apiBaseURL": .string(fake.url("/api"))]
        if let botToken { values["botToken"] = .string(botToken) }
        let settings = ProviderSettings(
            values: values, specs: SlackProvider.descriptor.settings, environment: { environment[$0] },
            secrets: { secrets[$0] })
        scheduler = ProviderJobScheduler(provider: "slack", kinds: SlackProvider.descriptor.jobs, queue: jobs.queue)
        let slack = try SlackProvider(
            context: ProviderContext(
                providerID: "slack", settings: settings, events: RecordingEventLog(clock: jobs.clock).access(for: "slack"),
                logger: logs.logger.labelled("slack"), clock: jobs.clock, http: URLSessionHTTPClient(), publicBaseURL: nil,
                requireAdmin: { request throws(HTTPError) in try AdminToken.authorize(request, expected: TestHub.adminToken) }, jobs: scheduler))
        self.slack = slack
        workers = JobWorkers(
            queue: jobs.queue, kinds: SlackProvider.descriptor.jobs.map { .init(providerID: "slack", kind: $0) }, provider: { _ in slack },
            configuration: .init(concurrency: 1, lease: 60), logger: logs.logger.labelled("jobs"), owner: "test")
    }

    var clock: ManualClock { jobs.clock }

    /// Queues a post due `delay` seconds from now.
    func schedule(in delay: Double = 0, channel: String = "C123", text: String = "Hello") async throws -> Int64 {
        try await scheduler.enqueue(
            SlackProvider.postMessageKind, payload: ["channel": .string(channel), "text": .string(text)], runAt: clock.now() + delay, priority: 0,
            idempotencyKey: nil)
    }

    func job(_ id: Int64) async throws -> JobRecord { try #require(try await jobs.queue.job(id)) }

    func close() async {
        await fake.stop()
        jobs.remove()
    }
}

@Suite("Slack scheduled posts")
struct SlackScheduledPostsTests {
    @Test("A post scheduled ahead is not sent before its time and is sent exactly once at it")
    func sentOnceAtItsTime() async throws {
        let fixture = try SlackPostFixture()
        let id = try await fixture.schedule(in: 3600, channel: "C42", text: "Stand-up in 5")
        #expect(try await fixture.workers.runDueJobs() == 0)
        fixture.clock.advance(by: 3599.999)
        #expect(try await fixture.workers.runDueJobs() == 0)
        #expect(fixture.fake.requests.isEmpty)
        fixture.clock.advance(by: 0.001)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.workers.runDueJobs() == 0)
        fixture.clock.advance(by: 86_400)
        #expect(try await fixture.workers.runDueJobs() == 0)

        let requests = fixture.fake.requests
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.method == .POST && request.path == "/api/chat.postMessage")
        #expect(request.headers["Authorization"] == "Bearer \(SlackPostFixture.token)")
        #expect(try JSONValue.parse(request.body) == ["channel": "C42", "text": "Stand-up in 5"])
        let job = try await fixture.job(id)
        #expect(job.state == .succeeded && job.attempts == 1)
        #expect(!fixture.logs.all.contains { $0.contains(SlackPostFixture.token) })
        await fixture.close()
    }

    @Test("HTTP 500 then 200: retried with backoff and succeeds")
    func serverErrorRetried() async throws {
        let fixture = try SlackPostFixture(script: [.text("oops", status: 500)])
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let retrying = try await fixture.job(id)
        #expect(retrying.state == .queued && retrying.attempts == 1 && retrying.lastError?.contains("HTTP 500") == true)
        // Backoff with the fixture's fixed jitter: 10 s · 0.5.
        #expect(retrying.runAt == fixture.jobs.queue.now + 5000)
        fixture.clock.advance(by: 5)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.job(id).state == .succeeded)
        #expect(fixture.fake.requests.count == 2)
        #expect(fixture.logs.all.contains { $0.contains("HTTP 500") })  // The failure was logged, without the token:
        #expect(!fixture.logs.all.contains { $0.contains(SlackPostFixture.token) })
        await fixture.close()
    }

    @Test("channel_not_found goes to the dead letters at once")
    func channelNotFoundIsFatal() async throws {
        let fixture = try SlackPostFixture(script: [.json(["ok": false, "error": "channel_not_found"])])
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try await fixture.job(id)
        #expect(job.state == .dead && job.attempts == 1 && job.lastError?.contains("channel_not_found") == true)
        fixture.clock.advance(by: 86_400)
        #expect(try await fixture.workers.runDueJobs() == 0)
        #expect(fixture.fake.requests.count == 1)
        await fixture.close()
    }

    @Test("Other ok:false errors are retried; every listed error is fatal")
    func slackErrors() throws {
        for error in SlackProvider.fatalErrors {
            let result = try SlackProvider.result(of: OutboundResponse(status: 200, body: Array(#"{"ok":false,"error":"\#(error)"}"#.utf8)))
            #expect(result == .fatal("Slack refused the message: \(error)"))
        }
        #expect(throws: SlackProvider.SlackAPIError.self) {
            try SlackProvider.result(of: OutboundResponse(status: 200, body: Array(#"{"ok":false,"error":"internal_error"}"#.utf8)))
        }
        #expect(throws: SlackProvider.SlackAPIError.self) { try SlackProvider.result(of: OutboundResponse(status: 503)) }
        #expect(throws: SlackProvider.SlackAPIError.self) { try SlackProvider.result(of: OutboundResponse(status: 200, body: Array("<html>".utf8))) }
        #expect(try SlackProvider.result(of: OutboundResponse(status: 200, body: Array(#"{"ok":true}"#.utf8))) == .success)
    }

    @Test("429 with Retry-After: the next attempt is not before it")
    func rateLimitHonoured() async throws {
        let fixture = try SlackPostFixture(script: [Response(status: 429, headers: ["Retry-After": "120"])])
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let waiting = try await fixture.job(id)
        #expect(waiting.state == .queued && waiting.runAt == fixture.jobs.queue.now + 120_000)
        fixture.clock.advance(by: 119.999)
        #expect(try await fixture.workers.runDueJobs() == 0)
        #expect(fixture.fake.requests.count == 1)
        fixture.clock.advance(by: 0.001)
        #expect(try await fixture.workers.runDueJobs() == 1)
        #expect(try await fixture.job(id).state == .succeeded)
        #expect(fixture.fake.requests.count == 2)
        await fixture.close()
    }

    @Test("Without a bot token the job is dead at once, with a clear reason, and nothing is sent")
    func missingToken() async throws {
        let fixture = try SlackPostFixture(botToken: nil)
        let id = try await fixture.schedule()
        #expect(try await fixture.workers.runDueJobs() == 1)
        let job = try await fixture.job(id)
        #expect(job.state == .dead && job.lastError?.contains("SLACK_BOT_TOKEN") == true)
        #expect(fixture.fake.requests.isEmpty)
        await fixture.close()
    }

    @Test("The bot token may be a secret: reference or come from SLACK_BOT_TOKEN")
    func tokenSources() async throws {
        for (botToken, environment, secrets) in [
            ("secret:SLACK_BOT", [:], ["SLACK_BOT": "xoxb-from-store"]), (nil, ["SLACK_BOT_TOKEN": "xoxb-from-store"], [:]),
        ] as [(String?, [String: String], [String: String])] {
            let fixture = try SlackPostFixture(botToken: botToken, environment: environment, secrets: secrets)
            let id = try await fixture.schedule()
            #expect(try await fixture.workers.runDueJobs() == 1)
            #expect(try await fixture.job(id).state == .succeeded)
            #expect(fixture.fake.requests.first?.headers["Authorization"] == "Bearer xoxb-from-store")
            await fixture.close()
        }
    }

    @Test("RecordingJobScheduler looks up and cancels queued jobs")
    func recordingScheduler() async throws {
        let jobs = RecordingJobScheduler(kinds: SlackProvider.descriptor.jobs)
        let id = try await jobs.enqueue(SlackProvider.postMessageKind, payload: ["channel": "C1", "text": "Hi"], runAt: 2_000_000_000, priority: 0, idempotencyKey: nil)
        #expect(try await jobs.job(id)?.state == "queued")
        #expect(try await jobs.job(id)?.runAt == 2_000_000_000)
        #expect(try await jobs.job(99) == nil)
        #expect(try await jobs.cancel(id))
        #expect(try await !jobs.cancel(id))
        #expect(try await jobs.job(id)?.state == "cancelled")
        #expect(try await jobs.job(id)?.isFinished == true)
    }

    @Test("Routes: admin token required, bad input is 400, schedule, look up, cancel once")
    func routes() async throws {
        try await withHub { hub in
            let auth = [("Authorization", "Bearer \(TestHub.adminToken)")]
            func post(_ body: JSONValue, headers: [(String, String)] = auth) async throws -> TestResponse {
                try await hub.request("POST", "/api/slack/scheduled-posts", headers: headers, body: Array(body.jsonString.utf8))
            }
            let good: JSONValue = ["channel": "C1", "text": "Hi", "post_at": "2099-01-01T09:00:00+01:00"]
            #expect(try await post(good, headers: []).status == 401)
            #expect(try await post(good, headers: [("Authorization", "Bearer wrong-token-0123456789abcdef")]).status == 401)
            for bad: JSONValue in [
                ["text": "Hi", "post_at": "2099-01-01T09:00:00Z"], ["channel": "", "text": "Hi", "post_at": "2099-01-01T09:00:00Z"],
                ["channel": "C1", "text": "", "post_at": "2099-01-01T09:00:00Z"], ["channel": "C1", "text": "Hi", "post_at": "tomorrow"],
                ["channel": "C1", "text": "Hi", "post_at": "2099-01-01T09:00:00"],
                ["channel": "C1", "text": "Hi", "post_at": "0722-12-16T04:23:49.702-19:21"], ["channel": "C1", "text": "Hi", "post_at": 4_070_937_600],
                ["channel": "C1", "text": .string(String(repeating: "a", count: 40_001)), "post_at": "2099-01-01T09:00:00Z"], "not an object",
            ] {
                let response = try await post(bad)
                #expect(response.status == 400, "\(bad.jsonString.prefix(80))")
                #expect(try response.json()["error"] != nil)
            }
            let bad = try await hub.request("POST", "/api/slack/scheduled-posts", headers: auth, body: Array("{".utf8))
            #expect(bad.status == 400)

            let created = try await post(good)
            #expect(created.status == 201)
            let id = try #require(try created.json()["id"]?.numberValue).rounded()
            #expect(try created.json()["post_at"] == "2099-01-01T09:00:00+01:00")
            let job = try #require(try await hub.hub.jobQueue.job(Int64(id)))
            #expect(job.kind == "slack.post_message" && job.runAt == 4_070_937_600_000 && job.payload["channel"] == "C1" && job.payload["text"] == "Hi")

            #expect(try await hub.request("GET", "/api/slack/scheduled-posts/\(Int(id))").status == 401)
            let shown = try await hub.request("GET", "/api/slack/scheduled-posts/\(Int(id))", headers: auth)
            #expect(shown.status == 200)
            #expect(try shown.json()["state"] == "queued" && shown.json()["attempts"] == 0 && shown.json()["last_error"] == .null)
            #expect(try shown.json()["post_at"] == "2099-01-01T09:00:00+01:00" && shown.json()["run_at"] == 4_070_937_600)

            let other = try await hub.hub.jobQueue.enqueue(kind: "other.kind", payload: nil, runAt: 4_070_937_600)
            #expect(try await hub.request("GET", "/api/slack/scheduled-posts/\(other)", headers: auth).status == 404)
            #expect(try await hub.request("DELETE", "/api/slack/scheduled-posts/\(other)", headers: auth).status == 404)
            #expect(try await hub.request("GET", "/api/slack/scheduled-posts/abc", headers: auth).status == 404)

            #expect(try await hub.request("DELETE", "/api/slack/scheduled-posts/\(Int(id))").status == 401)
            let cancelled = try await hub.request("DELETE", "/api/slack/scheduled-posts/\(Int(id))", headers: auth)
            #expect(try cancelled.status == 200 && cancelled.json()["state"] == "cancelled")
            #expect(try await hub.request("DELETE", "/api/slack/scheduled-posts/\(Int(id))", headers: auth).status == 409)
            #expect(try await hub.request("GET", "/api/slack/scheduled-posts/\(Int(id))", headers: auth).json()["state"] == "cancelled")
        }
    }
}
