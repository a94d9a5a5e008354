import Foundation
import PluginAPI
import Synchronization
import Testing

@testable import Host

/// Lets a test hold a handler mid-request: the handler reports that it started, then waits to be released.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    let started = DispatchSemaphore(value: 0)

    func pass() async {
        started.signal()
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// A provider whose handler waits at a gate, to test draining.
final class SlowProvider: Provider {
    static let gate = Gate()
    static let descriptor = ProviderDescriptor(
        id: "slow", displayName: "Slow",
        routes: [.post("/api/webhooks/slow") { (slow: SlowProvider, _) in try await slow.waitAtGate() }])
    init(context: ProviderContext) throws {}

    func waitAtGate() async throws -> Response {
        await SlowProvider.gate.pass()
        return .text("finished")
    }
}

@Suite("Graceful shutdown and slow clients")
struct ShutdownTests {
    @Test("Shutdown lets an in-flight request finish, then closes")
    func drainsInFlight() async throws {
        let hub = try TestHub(plugins: #"{"providers": {"slow": {"enabled": true}}}"#, providerTypes: [SlowProvider.self])
        let port = hub.port
        let connection = try TestConnection(port: port)
        async let response = Blocking.run {
            try connection.send("POST /api/webhooks/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            return try connection.readResponse()
        }
        let started = await Blocking.runNonThrowing { SlowProvider.gate.started.wait(timeout: .now() + 30) }
        try #require(started == .success, "the handler never started")
        async let stopped: Void = hub.stop()
        // Once shutdown has begun, new connections are refused while the in-flight request is still held.
        let deadline = ContinuousClock.now + .seconds(30)
        while await Self.canConnect(port: port) {
            try #require(ContinuousClock.now < deadline, "still accepting connections after shutdown began")
            await Task.yield()
        }
        SlowProvider.gate.open()
        let finished = try await response
        await stopped
        #expect(finished.status == 200)
        #expect(finished.text == "finished")
        #expect(finished.header("Connection") == "close")
    }

    private static func canConnect(port: Int) async -> Bool {
        await Blocking.runNonThrowing { (try? TestConnection(port: port)) != nil }  // A refused connect is the expected outcome.
    }

    @Test("A client that stops sending its body gets 408 and is cut off")
    func bodyTimeout() async throws {
        var server = ServerConfiguration()
        server.bodyReadTimeout = .milliseconds(200)
        try await withHub(server: server) { hub in
            let port = hub.port
            let (response, closed) = try await Blocking.run {
                let connection = try TestConnection(port: port)
                try connection.send("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
                let response = try connection.readResponse()
                return (response, try connection.isClosedByPeer())
            }
            #expect(response.status == 408)
            #expect(closed)
        }
    }

    @Test("Absolute-form targets are routed by their path")
    func absoluteForm() async throws {
        try await withHub { hub in
            let response = try await hub.raw(Array("GET http://hub.example.com/healthz HTTP/1.1\r\nHost: hub.example.com\r\nConnection: close\r\n\r\n".utf8))
            #expect(response.status == 200)
        }
    }
}

@Suite("Write timeout")
struct WriteTimeoutTests {
    @Test("A client that stops reading a large response is cut off after the write timeout")
    func slowReader() async throws {
        var server = ServerConfiguration()
        server.writeTimeout = .milliseconds(200)
        try await withHub(server: server) { hub in
            // About 10 MB of events, more than loopback's socket buffers hold (up to 4 MB each way).
            let text = String(repeating: "x", count: 10_000)
            let events = (0..<1000).map { NewEvent(externalID: "big\($0)", type: "message", rawBody: [], payload: ["text": .string(text)]) }
            _ = try await hub.hub.eventLog.append(provider: "slack", events: events)
            let port = hub.port
            let connection = try TestConnection(port: port, receiveBuffer: 4096)
            try connection.send("GET /api/admin/events?limit=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestHub.adminToken)\r\n\r\n")
            let hungUp = await Blocking.runNonThrowing { connection.waitForHangUp(timeout: 30) }
            #expect(hungUp, "the server closes a connection whose client stopped reading")
            let received = try await Blocking.run { try connection.drain() }
            #expect(received < 10_000_000, "the server gave up before the whole response was read")
        }
    }
}
