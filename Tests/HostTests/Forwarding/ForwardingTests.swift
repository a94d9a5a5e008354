import Foundation
import PluginAPI
import Synchronization
import Testing

@testable import Host

@Suite("Forwarding stored events to destinations")
struct ForwardingTests {
    @Test("A forwarded event carries id, provider, type, received_at and payload, and verifies under the destination's whsec_ secret")
    func forwardedEventVerifies() async throws {
        let destination = try ScriptedDestination()
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)]) { hub in
            let eventID = try await Forwarding.sendSlackEvent(hub, id: "EvForward1")
            let request = try #require(try await destination.waitForRequests(1).first)
            // Our verifier, with the freshness window at the current time.
            let signature = try StandardWebhookSignature(secret: Forwarding.secret)
            #expect(throws: Never.self) { try signature.verify(request, window: .fiveMinutes, now: SystemClock().now()) }
            var tampered = request
            tampered.body[tampered.body.count - 2] ^= 1
            #expect(throws: HTTPError.self) { try signature.verify(tampered, window: .fiveMinutes, now: SystemClock().now()) }
            #expect(request.method == .POST && request.path == "/hooks")
            #expect(request.headers["Content-Type"] == "application/json")
            let body = try JSONValue.parse(request.body)
            #expect(body["id"]?.numberValue == Double(eventID))
            #expect(body["provider"] == "slack" && body["type"] == "message")
            #expect(body["payload"]?["event"]?["text"] == "hi")
            #expect((body["received_at"]?.numberValue ?? 0) > 1_700_000_000)
            let delivery = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }.first)
            #expect(request.headers["webhook-id"] == "dlv_\(delivery.id)")
            #expect(delivery.attemptLog.count == 1 && delivery.attemptLog.first?.status == 200 && delivery.attemptLog.first?.error == nil)
        }
        await destination.stop()
    }

    @Test("The destination secret signs the official Standard Webhooks vector to its expected signature")
    func destinationSecretMatchesVector() throws {
        let vector = try #require(Vectors.standardWebhooks.first)
        let plugins = Forwarding.plugins([Forwarding.destination("crm", url: "http://127.0.0.1:9/hooks", secret: vector["secret"]!.stringValue!)])
        let configuration = try PluginsConfiguration.parse(Array(plugins.utf8), file: "plugins.json", knownProviders: ["slack"])
        let destination = try #require(configuration.providers["slack"]?.destinations.first)
        let signature = try StandardWebhookSignature(secret: destination.secret)
        let signed = signature.sign(
            id: vector["webhook_id"]!.stringValue!, timestamp: vector["webhook_timestamp"]!.stringValue!, body: Array(vector["body"]!.stringValue!.utf8))
        #expect(signed == vector["expected_signature"]!.stringValue!)
    }

    @Test("Retries then success: 500, 500, 200 delivers on the third attempt, each attempt recorded, same webhook-id")
    func retriesThenSuccess() async throws {
        let destination = try ScriptedDestination([Response(status: 500), Response(status: 500)])
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)]) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let records = try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }
            let delivery = try #require(records.first)
            #expect(delivery.attempts == 3)
            #expect(delivery.attemptLog.map(\.status) == [500, 500, 200])
            #expect(delivery.attemptLog.map(\.error) == ["HTTP 500", "HTTP 500", nil])
            #expect(delivery.attemptLog.allSatisfy { $0.latencyMilliseconds >= 0 })
            #expect(Set(destination.requests.map { $0.headers["webhook-id"] ?? "" }) == ["dlv_\(delivery.id)"])
        }
        await destination.stop()
    }

    @Test("Order per destination: while the first event's delivery fails, the later events wait, then all arrive in event order")
    func orderHoldsAcrossFailure() async throws {
        let destination = try ScriptedDestination([Response(status: 503), Response(status: 503)])
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)]) { hub in
            var sent: [Int64] = []
            for _ in 0..<4 { sent.append(try await Forwarding.sendSlackEvent(hub)) }
            let requests = try await destination.waitForRequests(6)
            let order = try requests.map(Forwarding.eventID)
            // The first event is tried until it succeeds; no later event goes out before it.
            #expect(order == [sent[0], sent[0], sent[0]] + sent[1...])
            _ = try await Forwarding.deliveries(hub) { $0.count == 4 && $0.allSatisfy { $0.state == .delivered } }
        }
        await destination.stop()
    }

    @Test("A permanent failure ends dead after max attempts, every attempt recorded; the destination then moves on")
    func permanentFailureIsDead() async throws {
        let destination = try ScriptedDestination(Array(repeating: Response(status: 500), count: 3))
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)], configure: Forwarding.fastRetries(maxAttempts: 3)) { hub in
            let first = try await Forwarding.sendSlackEvent(hub)
            let second = try await Forwarding.sendSlackEvent(hub)
            let records = try await Forwarding.deliveries(hub) { $0.count == 2 && $0[0].state == .dead && $0[1].state == .delivered }
            #expect(records[0].eventID == first && records[0].attempts == 3 && records[0].lastError == "HTTP 500")
            #expect(records[0].attemptLog.map(\.status) == [500, 500, 500])
            #expect(records[1].eventID == second && records[1].attempts == 1)
            let dead = try await hub.admin("/api/admin/deliveries?destination=crm&state=dead").json()["deliveries"]?.arrayValue ?? []
            #expect(dead.count == 1 && dead.first?["attempt_log"]?.arrayValue?.count == 3)
            #expect(dead.first?["attempt_log"]?.arrayValue?.first?["status"] == 500)
        }
        await destination.stop()
    }

    @Test("A refused connection is an attempt without status, with the error recorded and the URL never in it")
    func transportFailureRecorded() async throws {
        let refusing = try RefusingPort()
        let url = "http://127.0.0.1:\(refusing.port)/hooks?token=do-not-log"
        try await Forwarding.withHub(destinations: [Forwarding.destination("gone", url: url)], configure: Forwarding.fastRetries(maxAttempts: 2)) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let delivery = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .dead }.first)
            #expect(delivery.attemptLog.count == 2 && delivery.attemptLog.allSatisfy { $0.status == nil && $0.error != nil })
            #expect(!(delivery.lastError ?? "").contains("do-not-log"))
            #expect(!hub.logs.all.contains { $0.contains("do-not-log") || $0.contains(Forwarding.secret) })
        }
        withExtendedLifetime(refusing) {}
    }

    @Test("429 and 503 Retry-After are honoured: each retry waits the header's seconds, not the (hour-long) backoff")
    func retryAfterHonoured() async throws {
        let destination = try ScriptedDestination([Response(status: 429, headers: ["Retry-After": "1"]), Response(status: 503, headers: ["Retry-After": "1"])])
        let slowBackoff: (inout HubOptions) -> Void = { options in
            options.deliveries.retryBase = 3600
            options.deliveries.retryCap = 3600
        }
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)], configure: slowBackoff) { hub in
            try await Forwarding.sendSlackEvent(hub)
            _ = try await destination.waitForRequests(3)
            let times = destination.arrivalTimes
            for index in 1...2 {
                #expect(times[index] - times[index - 1] >= 1_000_000_000, "retry \(index) came \(Double(times[index] - times[index - 1]) / 1e9) s after the one before")
            }
            let delivery = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }.first)
            #expect(delivery.attemptLog.map(\.status) == [429, 503, 200])
        }
        await destination.stop()
    }

    @Test("The event-type filter: a destination receives only the types it lists; duplicates are forwarded once")
    func eventTypeFilter() async throws {
        let mentions = try ScriptedDestination()
        let everything = try ScriptedDestination()
        let destinations = [
            Forwarding.destination("mentions", url: mentions.url, types: ["app_mention"]), Forwarding.destination("all", url: everything.url),
        ]
        try await Forwarding.withHub(destinations: destinations) { hub in
            let message = try await Forwarding.sendSlackEvent(hub, type: "message", id: "EvTypeMessage")
            try await Forwarding.sendSlackEvent(hub, type: "message", id: "EvTypeMessage")  // Slack's retry: stored once.
            let mention = try await Forwarding.sendSlackEvent(hub, type: "app_mention")
            #expect(try await everything.waitForRequests(2).map(Forwarding.eventID) == [message, mention])
            #expect(try await mentions.waitForRequests(1).map(Forwarding.eventID) == [mention])
            let records = try await Forwarding.deliveries(hub) { $0.count == 3 && $0.allSatisfy { $0.state == .delivered } }
            #expect(records.filter { $0.destination == "mentions" }.map(\.eventID) == [mention])
        }
        await mentions.stop()
        await everything.stop()
    }

    @Test("Replay re-delivers one event to one destination or to every matching one, as new deliveries; bad input is 400/404")
    func replay() async throws {
        let crm = try ScriptedDestination()
        let audit = try ScriptedDestination()
        let mentions = try ScriptedDestination()
        let destinations = [
            Forwarding.destination("crm", url: crm.url), Forwarding.destination("audit", url: audit.url),
            Forwarding.destination("mentions", url: mentions.url, types: ["app_mention"]),
        ]
        try await Forwarding.withHub(destinations: destinations) { hub in
            let eventID = try await Forwarding.sendSlackEvent(hub)
            _ = try await crm.waitForRequests(1)
            let auth = [("Authorization", "Bearer \(TestHub.adminToken)")]
            let one = try await hub.request("POST", "/api/admin/events/\(eventID)/replay", headers: auth, body: Array(#"{"destination": "crm"}"#.utf8))
            #expect(one.status == 202)
            #expect(try one.json()["deliveries"]?.arrayValue?.map { $0["destination"] } == ["crm"])
            let replayed = try await crm.waitForRequests(2)
            #expect(try replayed.map(Forwarding.eventID) == [eventID, eventID])
            #expect(replayed[0].headers["webhook-id"] != replayed[1].headers["webhook-id"])
            #expect(audit.requests.count == 1)

            let all = try await hub.request("POST", "/api/admin/events/\(eventID)/replay", headers: auth)
            #expect(all.status == 202)
            #expect(try all.json()["deliveries"]?.arrayValue?.map { $0["destination"] } == ["crm", "audit"])
            _ = try await audit.waitForRequests(2)
            _ = try await crm.waitForRequests(3)
            #expect(mentions.requests.isEmpty)

            for (target, body, status) in [
                ("/api/admin/events/999999/replay", "", 404), ("/api/admin/events/abc/replay", "", 404),
                ("/api/admin/events/\(eventID)/replay", #"{"destination": "nowhere"}"#, 404),
                ("/api/admin/events/\(eventID)/replay", #"{"destination": "mentions"}"#, 400),
                ("/api/admin/events/\(eventID)/replay", #"{"destination": 7}"#, 400), ("/api/admin/events/\(eventID)/replay", #"{"to": "crm"}"#, 400),
                ("/api/admin/events/\(eventID)/replay", "[", 400), ("/api/admin/events/\(eventID)/replay", "[]", 400),
            ] {
                let response = try await hub.request("POST", target, headers: auth, body: Array(body.utf8))
                #expect(response.status == status, "\(target) \(body)")
                #expect(response.errorCode != nil, "\(target) \(body)")
            }
        }
        for destination in [crm, audit, mentions] { await destination.stop() }
    }

    @Test("The deliveries list filters by destination and state, rejects unknown ones, and both routes need the admin token")
    func adminRoutes() async throws {
        let destination = try ScriptedDestination()
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)]) { hub in
            let eventID = try await Forwarding.sendSlackEvent(hub)
            _ = try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }
            let listed = try await hub.admin("/api/admin/deliveries?destination=crm&state=delivered")
            #expect(listed.status == 200)
            let delivery = try #require(try listed.json()["deliveries"]?.arrayValue?.first)
            #expect(delivery["event_id"]?.numberValue == Double(eventID) && delivery["destination"] == "crm")
            #expect(delivery["attempt_log"]?.arrayValue?.first?["status"] == 200)
            #expect(try await hub.admin("/api/admin/deliveries?state=pending").json()["deliveries"]?.arrayValue?.isEmpty == true)
            #expect(try await hub.admin("/api/admin/deliveries?destination=nowhere").status == 404)
            #expect(try await hub.admin("/api/admin/deliveries?state=lost").status == 400)
            #expect(try await hub.admin("/api/admin/deliveries?limit=0").status == 400)
            #expect(try await hub.request("GET", "/api/admin/deliveries").status == 401)
            #expect(try await hub.request("GET", "/api/admin/deliveries", headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await hub.request("POST", "/api/admin/events/\(eventID)/replay").status == 401)
            #expect(destination.requests.count == 1)
        }
        await destination.stop()
    }

    @Test("Shutdown stops starting deliveries and lets the one in flight finish and be recorded")
    func gracefulShutdown() async throws {
        let release = Doorbell()
        let released = Atomic<Bool>(false)
        let arrived = Doorbell()
        let destination = try FakeServer { _ in
            arrived.ring()
            while !released.load(ordering: .acquiring) { await release.wait(since: release.generation, timeout: .milliseconds(100)) }
            return Response(status: 200)
        }
        let hub = try TestHub(plugins: Forwarding.plugins([Forwarding.destination("crm", url: destination.url("/hooks"))]))
        let generation = arrived.generation
        let first = try await Forwarding.sendSlackEvent(hub)
        await arrived.wait(since: generation)
        try await Forwarding.sendSlackEvent(hub)
        let worker = hub.hub.deliveryWorker
        // Begun before the release, so the loop cannot start the second delivery in between.
        worker.beginShutdown()
        async let shutdown: Void = Blocking.runNonThrowing { worker.shutdown(deadline: 60) }
        released.store(true, ordering: .releasing)
        release.ring()
        await shutdown
        let records = try await worker.store.deliveries(destination: "crm", state: nil, limit: 10)
        #expect(records.map(\.state) == [.delivered, .pending])
        #expect(records.first?.eventID == first)
        #expect(destination.requests.count == 1)
        await hub.stop()
        await destination.stop()
    }
}
