import PluginAPI
import Synchronization

/// Runs providers in this process without sockets: requests go straight to their routes' handlers,
/// with the hub's answers for unknown routes, failed creation (503) and thrown errors (500).
public struct InMemoryHost: ProviderHosting {
    public init() {}

    public func withTransport<T: Sendable>(_ setup: HostSetup, _ body: (any ProviderTransport) async throws -> T) async throws -> T {
        try await body(InMemoryTransport(setup))
    }
}

/// The in-memory transport: lazy provider creation, retried after a failure, as in the hub.
final class InMemoryTransport: ProviderTransport {
    private final class Slot: Sendable {
        let type: any Provider.Type
        let context: ProviderContext
        let provider = Mutex<(any Provider)?>(nil)

        init(type: any Provider.Type, context: ProviderContext) {
            self.type = type
            self.context = context
        }

        /// The provider, created on first use; throws what its initializer threw.
        func instance() throws -> any Provider {
            try provider.withLock { provider in
                if let provider { return provider }
                let created = try type.init(context: context)
                provider = created
                return created
            }
        }
    }

    private let slots: [Slot]
    private let log: RecordingEventLog

    init(_ setup: HostSetup) {
        let log = RecordingEventLog(clock: setup.clock)
        let environment = setup.environment
        self.log = log
        slots = setup.providers.map { entry in
            let id = entry.type.descriptor.id
            let access = log.access(for: id)
            let settings = ProviderSettings(
                values: entry.settings, specs: entry.type.descriptor.settings, environment: { environment[$0] },
                secrets: { name in throw ProviderSetupError("secret:\(name) is not available in memory; use env: in tests") })
            let context = ProviderContext(
                providerID: id, settings: settings, events: access, logger: .disabled, clock: setup.clock, http: OfflineHTTPClient(),
                publicBaseURL: setup.publicBaseURL, storedEvents: access,
                requireAdmin: { request throws(HTTPError) in try AdminToken.authorize(request, expected: environment["ADMIN_TOKEN"]) })
            return Slot(type: entry.type, context: context)
        }
    }

    func send(_ request: Request) async throws -> Response {
        var allowed: [HTTPMethod] = []
        for slot in slots {
            for route in slot.type.descriptor.routes {
                guard let parameters = RouteTemplate.match(route.path, request.path) else { continue }
                guard route.method == request.method else {
                    allowed.append(route.method)
                    continue
                }
                var request = request
                request.pathParameters = parameters
                return await respond(slot, route, request)
            }
        }
        return allowed.isEmpty
            ? HTTPError.noRoute(request.method, request.path).response : HTTPError.methodNotAllowed(request.path, allowed: allowed).response
    }

    private func respond(_ slot: Slot, _ route: Route, _ request: Request) async -> Response {
        let provider: any Provider
        do { provider = try slot.instance() } catch {
            return HTTPError.providerUnavailable(slot.type.descriptor.id, reason: (error as? ProviderSetupError)?.reason ?? "\(error)").response
        }
        do { return try await route.handler(provider, request) } catch let error as HTTPError { return error.response } catch {
            return HTTPError.internalError.response
        }
    }

    func storedEvents(provider id: String) async throws -> [RecordedEvent] { log.events(provider: id) }
}

/// Outbound HTTP in memory: there is no network, so every request fails as unreachable.
struct OfflineHTTPClient: HTTPClient {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        throw OutboundError(url: request.url, reason: "the in-memory test host has no network")
    }
}

/// Matching a request path against a route template with `{name}` segments.
enum RouteTemplate {
    /// The percent-decoded parameters when `path` fits `template`, nil otherwise.
    static func match(_ template: String, _ path: String) -> [String: String]? {
        let patterns = template.split(separator: "/", omittingEmptySubsequences: false)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard patterns.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (pattern, segment) in zip(patterns, segments) {
            if pattern.hasPrefix("{"), pattern.hasSuffix("}"), !segment.isEmpty {
                parameters[String(pattern.dropFirst().dropLast())] = FormURLEncoded.percentDecode(segment, plusAsSpace: false)
            } else if pattern != segment {
                return nil
            }
        }
        return parameters
    }
}
