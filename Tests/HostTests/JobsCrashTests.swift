import Foundation
import PluginAPI
import Synchronization
import Testing

@testable import Host

/// A stand-in receiver (a Teams incoming webhook, a forwarding destination) that records a key of
/// every request (`key`: the message text, the forwarded event id) and, once `holdFrom` requests
/// have arrived, keeps further requests waiting until ``release()``.
final class RecordingWebhook: Sendable {
    private final class Shared: Sendable {
        let texts = Mutex<[String]>([])
        let held = Mutex<[String]>([])
        let released = Atomic<Bool>(false)
        let bell = Doorbell()
        let holdFrom: Int
        init(holdFrom: Int) { self.holdFrom = holdFrom }
    }

    let server: FakeServer
    private let shared: Shared

    init(holdFrom: Int, key: @escaping @Sendable (JSONValue) -> String? = { $0["text"]?.stringValue }) throws {
        let shared = Shared(holdFrom: holdFrom)
        server = try FakeServer { request in
            let text = (try? JSONValue.parse(request.body)).flatMap(key) ?? "<no key>"  // A body without one fails the test's counts.
            let hold = shared.texts.withLock { texts in
                texts.append(text)
                return texts.count > shared.holdFrom
            }
            if hold && !shared.released.load(ordering: .acquiring) {
                shared.held.withLock { $0.append(text) }
                shared.bell.ring()
                while !shared.released.load(ordering: .acquiring) {
                    await shared.bell.wait(since: shared.bell.generation, timeout: .milliseconds(100))
                }
            }
            shared.bell.ring()
            return Response(status: 200)
        }
        self.shared = shared
    }

    /// Every key received, in order (a repeat means the side effect ran twice).
    var texts: [String] { shared.texts.withLock { $0 } }
    /// The keys whose requests were held (in flight when the hub was killed).
    var held: [String] { shared.held.withLock { $0 } }

    func release() {
        shared.released.store(true, ordering: .releasing)
        shared.bell.ring()
    }

    /// Waits (polling the bell, at most `timeout` s) until `condition` holds.
    func wait(timeout: Double, _ what: String, until condition: @escaping @Sendable (RecordingWebhook) -> Bool) async throws {
        let deadline = System.monotonicNanoseconds() + UInt64(timeout * 1e9)
        while !condition(self) {
            guard System.monotonicNanoseconds() < deadline else { throw TestConnectionError(description: "timed out waiting for \(what)") }
            await shared.bell.wait(since: shared.bell.generation, timeout: .milliseconds(200))
        }
    }
}

@Suite("Jobs survive SIGKILL")
struct JobsCrashTests {
    static let jobs = 1000
    static let repeatedKeys = 100
    static let concurrency = 4

    /// Sends `requests` (key, text) as `POST /api/teams/messages` on one keep-alive connection; returns each answer's job id.
    static func enqueue(port: Int, _ requests: [(key: String, text: String)]) throws -> [(key: String, id: Int64)] {
        let connection = try TestConnection(port: port)
        return try requests.map { request in
            let body = JSONValue.object(["text": .string(request.text)]).jsonString
            try connection.send(
                "POST /api/teams/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestHub.adminToken)\r\nIdempotency-Key: \(request.key)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let response = try connection.readResponse()
            guard response.status == 201, let id = try response.json()["id"]?.numberValue else {
                throw TestConnectionError(description: "enqueue answered \(response.status): \(response.text)")
            }
            return (request.key, Int64(id))
        }
    }

    @Test("Idempotency-Key on POST /api/teams/messages: a repeated key answers with the first job; a bad key is 400")
    func teamsIdempotencyKey() async throws {
        let environment = ["TEAMS_INCOMING_WEBHOOK_URL": "http://127.0.0.1:9/webhook", "ADMIN_TOKEN": TestHub.adminToken]
        try await withHub(plugins: #"{"providers": {"teams": {"enabled": true}}}"#, environment: environment) { hub in
            func post(_ key: String, _ text: String) async throws -> TestResponse {
                try await hub.request(
                    "POST", "/api/teams/messages", headers: [("Authorization", "Bearer \(TestHub.adminToken)"), ("Idempotency-Key", key)],
                    body: Array(JSONValue.object(["text": .string(text)]).jsonString.utf8))
            }
            let first = try await post("deploy-42", "Deploy done")
            let again = try await post("deploy-42", "Deploy done, again")
            #expect(first.status == 201 && again.status == 201)
            #expect(try first.json()["id"] == again.json()["id"])
            let id = try #require(try first.json()["id"]?.numberValue)
            let job = try #require(try await hub.hub.jobQueue.job(Int64(id)))
            #expect(job.payload["text"] == "Deploy done" && job.idempotencyKey == "teams.post_message:deploy-42")
            #expect(try await post(String(repeating: "k", count: 201), "x").status == 400)
        }
    }

    @Test("SIGKILL with 1,000 jobs queued or running: after a restart every job completes, none is lost, a repeated idempotency key queues nothing")
    func sigkillThenRestart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let webhook = try RecordingWebhook(holdFrom: 300)
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"teams": {"enabled": true}}}"#.utf8).write(to: plugins)
        let arguments = [
            "--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins.path,
            "--job-concurrency", "\(Self.concurrency)", "--job-lease", "2", "--job-poll-interval", "0.1", "--job-retry-base", "0.1", "--job-retry-cap", "1",
        ]
        // LOG_LEVEL=error: the test reads the child's stderr only up to "listening on", so it must stay quiet.
        let environment = [
            "ADMIN_TOKEN": TestHub.adminToken, "TEAMS_INCOMING_WEBHOOK_URL": webhook.server.url("/webhookb2/secret"), "LOG_LEVEL": "error",
            "PATH": "/usr/bin:/bin",
        ]

        // First run: queue 1,000 jobs plus 100 repeats of earlier keys (with other texts, which must never be sent).
        let first = HubProcess(arguments: arguments, environment: environment)
        let port = try await Blocking.run { try first.start() }
        let unique = (0..<Self.jobs).map { (key: "crash-\($0)", text: "message crash-\($0)") }
        let repeats = (0..<Self.repeatedKeys).map { (key: "crash-\($0 * 7)", text: "repeat of crash-\($0 * 7)") }
        var ids: [String: Int64] = [:]
        for start in stride(from: 0, to: unique.count, by: 250) {
            let batch = Array(unique[start..<min(start + 250, unique.count)])
            for (key, id) in try await Blocking.run({ try Self.enqueue(port: port, batch) }) { ids[key] = id }
        }
        let repeatIDs = try await Blocking.run { try Self.enqueue(port: port, repeats) }
        #expect(Set(ids.values).count == Self.jobs)
        #expect(repeatIDs.allSatisfy { ids[$0.key] == $0.id }, "a repeated Idempotency-Key answered with another job")

        // Kill it while every worker is inside a request and the rest of the jobs are queued.
        try await webhook.wait(timeout: 60, "all workers to be in flight") { $0.held.count == Self.concurrency }
        first.signal(SIGKILL)
        let killed = await Blocking.runNonThrowing { first.waitForExit() }
        #expect(killed.reason == .uncaughtSignal && killed.status == SIGKILL)
        let sentBeforeKill = webhook.texts.count
        #expect(sentBeforeKill < Self.jobs, "the jobs finished before the kill; the test proves nothing")
        webhook.release()

        // Second run on the same data dir: everything completes.
        let second = HubProcess(arguments: arguments, environment: environment)
        let secondPort = try await Blocking.run { try second.start() }
        try await webhook.wait(timeout: 120, "every message to arrive") { Set($0.texts).count >= Self.jobs }
        let admin = TestHubClient(port: secondPort)
        var succeeded: [JSONValue] = []
        let deadline = System.monotonicNanoseconds() + 30_000_000_000
        repeat {
            succeeded = try await admin.get("/api/admin/jobs?state=succeeded&limit=1000").json()["jobs"]?.arrayValue ?? []
            if succeeded.count == Self.jobs || System.monotonicNanoseconds() > deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        } while true
        #expect(succeeded.count == Self.jobs)
        for state in ["queued", "running", "dead", "cancelled"] {
            #expect(try await admin.get("/api/admin/jobs?state=\(state)").json()["jobs"]?.arrayValue?.isEmpty == true, "\(state)")
        }

        // None lost, no repeated key sent, and only jobs in flight at the kill ran twice (at least once).
        let texts = webhook.texts
        #expect(Set(texts) == Set(unique.map(\.text)))
        #expect(!texts.contains { $0.hasPrefix("repeat of") })
        let counts = Dictionary(texts.map { ($0, 1) }, uniquingKeysWith: +)
        let twice = Set(counts.filter { $0.value > 1 }.keys)
        #expect(twice.isSubset(of: Set(webhook.held)), "only a job interrupted mid-request may run again: \(twice)")
        #expect(counts.values.allSatisfy { $0 <= 2 })
        #expect(texts.count - Self.jobs <= Self.concurrency)

        second.signal(SIGTERM)
        let stopped = await Blocking.runNonThrowing { second.waitForExit() }
        #expect(stopped.reason == .exit && stopped.status == 0)
        await webhook.server.stop()
    }
}

extension JobsCrashTests {
    @Test("SIGKILL with deliveries pending and one in flight: after a restart every event is delivered, in event order")
    func deliveriesSurviveSigkill() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let destination = try RecordingWebhook(holdFrom: 20) { $0["id"]?.numberValue.map { String(Int64($0)) } }
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(Forwarding.plugins([Forwarding.destination("crm", url: destination.server.url("/hooks"))]).utf8).write(to: plugins)
        let arguments = ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins.path, "--delivery-retry-base", "0.1"]
        let environment = ["ADMIN_TOKEN": TestHub.adminToken, "SLACK_SIGNING_SECRET": TestHub.slackSecret, "LOG_LEVEL": "error", "PATH": "/usr/bin:/bin"]
        let first = HubProcess(arguments: arguments, environment: environment)
        let port = try await Blocking.run { try first.start() }
        let events = 100
        try await Blocking.run {
            let connection = try TestConnection(port: port)
            for index in 0..<events {
                let body = SlackSigner.eventBody(id: "EvCrash\(index)")
                let head = SlackSigner().headers(body: body).map { "\($0): \($1)\r\n" }.joined()
                try connection.send(Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\n\(head)Content-Length: \(body.count)\r\n\r\n".utf8) + body)
                guard try connection.readResponse().status == 200 else { throw TestConnectionError(description: "event \(index) was refused") }
            }
        }
        try await destination.wait(timeout: 60, "a delivery in flight") { $0.held.count == 1 }
        first.signal(SIGKILL)
        _ = await Blocking.runNonThrowing { first.waitForExit() }
        destination.release()

        let second = HubProcess(arguments: arguments, environment: environment)
        _ = try await Blocking.run { try second.start() }
        try await destination.wait(timeout: 120, "every event to arrive") { Set($0.texts).count >= events }
        let received = destination.texts.compactMap { Int64($0) }
        // Event ids are increasing in arrival order; only the delivery in flight at the kill arrives twice, back to back.
        var order: [Int64] = []
        for id in received where order.last != id { order.append(id) }
        #expect(order == order.sorted() && Set(order).count == events && order.count == events, "\(received)")
        #expect(received.count - events <= 1)
        #expect(Set(received.filter { id in received.filter { $0 == id }.count > 1 }.map { String($0) }).isSubset(of: Set(destination.held)))
        second.signal(SIGTERM)
        #expect(await Blocking.runNonThrowing { second.waitForExit() }.status == 0)
        await destination.server.stop()
    }
}

/// GETs admin routes of a hub that runs in a child process.
struct TestHubClient {
    let port: Int

    func get(_ target: String) async throws -> TestResponse {
        let port = port
        return try await Blocking.run {
            let connection = try TestConnection(port: port)
            try connection.send("GET \(target) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestHub.adminToken)\r\nConnection: close\r\n\r\n")
            return try connection.readResponse()
        }
    }
}
