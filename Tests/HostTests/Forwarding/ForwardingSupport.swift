import Foundation
import PluginAPI
import Synchronization
import Testing

@testable import Host

/// A local forwarding destination: answers from a script (then 200), notes when each request
/// arrived (monotonic ns) and rings on each.
final class ScriptedDestination: Sendable {
    /// What the handler shares with the test.
    private final class Script: Sendable {
        let remaining: Mutex<[Response]>
        let arrivals = Mutex<[UInt64]>([])
        let received = Doorbell()
        init(_ responses: [Response]) { remaining = Mutex(responses) }
    }

    let server: FakeServer
    private let script: Script

    init(_ responses: [Response] = []) throws {
        let script = Script(responses)
        server = try FakeServer { _ in
            script.arrivals.withLock { $0.append(System.monotonicNanoseconds()) }
            script.received.ring()
            return script.remaining.withLock { $0.isEmpty ? Response(status: 200) : $0.removeFirst() }
        }
        self.script = script
    }

    var received: Doorbell { script.received }
    var url: String { server.url("/hooks") }
    var requests: [Request] { server.requests }
    var arrivalTimes: [UInt64] { script.arrivals.withLock { $0 } }

    /// Waits (at most `timeout` seconds) until `count` requests have arrived and returns them all.
    func waitForRequests(_ count: Int, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [Request] {
        let deadline = System.monotonicNanoseconds() + UInt64(timeout * 1e9)
        while true {
            let generation = received.generation
            let requests = server.requests
            if requests.count >= count { return requests }
            guard System.monotonicNanoseconds() < deadline else {
                Issue.record("only \(requests.count) of \(count) requests arrived within \(timeout) s", sourceLocation: sourceLocation)
                throw TestConnectionError(description: "timed out waiting for requests")
            }
            await received.wait(since: generation, timeout: .milliseconds(500))
        }
    }

    func stop() async { await server.stop() }
}

enum Forwarding {
    /// The official Standard Webhooks vector's secret, used as every test destination's secret.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// plugins.json with Slack enabled and `destinations` (JSON objects) under it.
    static func plugins(_ destinations: [String]) -> String {
        #"{"providers": {"slack": {"enabled": true, "destinations": [\#(destinations.joined(separator: ","))]}}}"#
    }

    static func destination(_ id: String, url: String, types: [String]? = nil, secret: String = Forwarding.secret) -> String {
        let filter = types.map { #", "eventTypes": [\#($0.map { "\"\($0)\"" }.joined(separator: ","))]"# } ?? ""
        return #"{"id": "\#(id)", "url": "\#(url)", "secret": "\#(secret)"\#(filter)}"#
    }

    /// Fast retries for tests: backoff from 20 ms, capped at 100 ms.
    static func fastRetries(maxAttempts: Int = 5) -> (inout HubOptions) -> Void {
        { options in
            options.deliveries.retryBase = 0.02
            options.deliveries.retryCap = 0.1
            options.deliveries.maxAttempts = maxAttempts
        }
    }

    /// Runs `body` with a hub forwarding Slack events to `destinations`.
    static func withHub<T>(
        destinations: [String], configure: @escaping (inout HubOptions) -> Void = fastRetries(), _ body: (TestHub) async throws -> T
    ) async throws -> T {
        try await HostTests.withHub(plugins: plugins(destinations), configure: configure, body)
    }

    /// Sends a signed Slack event of `type`; returns its stored event id.
    @discardableResult
    static func sendSlackEvent(_ hub: TestHub, type: String = "message", id: String = "Ev\(UUID().uuidString.prefix(12))") async throws -> Int64 {
        let body = Array(#"{"type":"event_callback","event_id":"\#(id)","event_time":1700000000,"event":{"type":"\#(type)","text":"hi"}}"#.utf8)
        let response = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body)
        #expect(response.status == 200)
        let stored = try await hub.hub.eventLog.recent(provider: "slack", limit: 1000)
        return try #require(stored.first { $0.externalID == id }?.id)
    }

    /// Polls the hub's deliveries (every 20 ms, at most `timeout` s) until `done` holds; returns them.
    static func deliveries(
        _ hub: TestHub, destination: String? = nil, timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation,
        until done: ([DeliveryRecord]) -> Bool
    ) async throws -> [DeliveryRecord] {
        let deadline = System.monotonicNanoseconds() + UInt64(timeout * 1e9)
        while true {
            let records = try await hub.hub.deliveryWorker.store.deliveries(destination: destination, state: nil, limit: 1000)
            if done(records) { return records }
            guard System.monotonicNanoseconds() < deadline else {
                Issue.record("deliveries did not reach the expected state within \(timeout) s: \(records.map { ($0.id, $0.state) })", sourceLocation: sourceLocation)
                return records
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The event id inside a forwarded body.
    static func eventID(_ request: Request) throws -> Int64 {
        Int64(try #require(try JSONValue.parse(request.body)["id"]?.numberValue))
    }
}
