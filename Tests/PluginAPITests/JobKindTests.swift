import PluginAPI
import PluginTesting
import Synchronization
import Testing

/// A provider with one job kind that echoes its payload's `result`.
private final class JobKindProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "jobkind", displayName: "Job kind", routes: [],
        jobs: [
            .job("jobkind.echo", maxAttempts: 7) { (provider: JobKindProvider, payload) in
                provider.seen.withLock { $0.append(payload) }
                switch payload["result"]?.stringValue {
                case "retry": return .retry(after: 30)
                case "fatal": return .fatal("no such channel")
                default: return .success
                }
            }
        ])

    let seen = Mutex<[JSONValue]>([])
    init(context: ProviderContext) throws {}
    init() {}
}

private final class OtherProvider: Provider {
    static let descriptor = ProviderDescriptor(id: "other", displayName: "Other", routes: [])
    init(context: ProviderContext) throws {}
}

@Suite("Job kinds")
struct JobKindTests {
    @Test("Retry-After is read as seconds; absent, negative or not a number is nil")
    func retryAfter() {
        #expect(OutboundResponse(status: 429, headers: ["Retry-After": "120"]).retryAfter == 120)
        #expect(OutboundResponse(status: 429, headers: ["retry-after": " 1.5 "]).retryAfter == 1.5)
        for bad in ["-1", "soon", "inf", "Wed, 21 Oct 2026 07:28:00 GMT"] {
            #expect(OutboundResponse(status: 429, headers: ["Retry-After": bad]).retryAfter == nil)
        }
        #expect(OutboundResponse(status: 429).retryAfter == nil)
    }

    @Test("A typed job kind passes the concrete provider and payload and returns the handler's result")
    func typedHandler() async throws {
        let kind = try #require(JobKindProvider.descriptor.jobs.first)
        #expect(kind.name == "jobkind.echo" && kind.maxAttempts == 7)
        let provider = JobKindProvider()
        #expect(try await kind.handler(provider, ["result": "retry"]) == .retry(after: 30))
        #expect(try await kind.handler(provider, ["result": "fatal"]) == .fatal("no such channel"))
        #expect(provider.seen.withLock { $0.count } == 2)
        await #expect(throws: ProviderSetupError.self) { try await kind.handler(OtherProvider(context: Self.unusedContext), nil) }
    }

    @Test("The recording scheduler refuses undeclared kinds, keeps one job per idempotency key and runs them")
    func recordingScheduler() async throws {
        let jobs = RecordingJobScheduler(kinds: JobKindProvider.descriptor.jobs)
        await #expect(throws: ProviderSetupError.self) { try await jobs.enqueue("other.kind", payload: nil) }
        let first = try await jobs.enqueue("jobkind.echo", payload: ["n": 1], idempotencyKey: "k")
        #expect(try await jobs.enqueue("jobkind.echo", payload: ["n": 2], idempotencyKey: "k") == first)
        try await jobs.enqueue("jobkind.echo", payload: ["result": "fatal"])
        #expect(try await jobs.runQueued(on: JobKindProvider()) == [.success, .fatal("no such channel")])
        #expect(try await jobs.runQueued(on: JobKindProvider()).isEmpty)
        #expect(jobs.jobs.count == 2)
    }

    private static var unusedContext: ProviderContext {
        ProviderContext(
            providerID: "other", settings: ProviderSettings(values: [:], specs: [], environment: { _ in nil }, secrets: { _ in nil }),
            events: NoEvents(), logger: .disabled, clock: SystemClock(), http: NoHTTP(), publicBaseURL: nil)
    }
}

private struct NoEvents: EventSink {
    func append(_ events: [NewEvent]) async throws -> [AppendOutcome] { [] }
}

private struct NoHTTP: HTTPClient {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse { throw ProviderSetupError("no network") }
}
