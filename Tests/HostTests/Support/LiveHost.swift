import Foundation
import PluginAPI
import PluginTesting

@testable import Host

/// The conformance kit's live transport: a real hub started with ``withHub``, reached over a socket.
struct LiveHost: ProviderHosting {
    func withTransport<T: Sendable>(_ setup: HostSetup, _ body: (any ProviderTransport) async throws -> T) async throws -> T {
        var environment = setup.environment
        environment["ADMIN_TOKEN"] = TestHub.adminToken
        if let url = setup.publicBaseURL { environment["ATOM_PUBLIC_URL"] = url }
        return try await withHub(plugins: setup.pluginsJSON, environment: environment, clock: setup.clock, providerTypes: setup.providers.map(\.type)) { hub in
            try await body(LiveTransport(hub: hub))
        }
    }
}

/// Sends kit requests to a ``TestHub`` as HTTP/1.1 over a new connection each.
struct LiveTransport: ProviderTransport {
    let hub: TestHub

    func send(_ request: Request) async throws -> Response {
        let response = try await hub.request(
            request.method.rawValue, request.target, headers: request.headers.fields.map { ($0.name, $0.value) }, body: request.body)
        return Response(status: response.status, headers: HTTPHeaders(response.headers.map { (name: $0.0, value: $0.1) }), body: response.body)
    }

    func storedEvents(provider id: String) async throws -> [RecordedEvent] {
        try await hub.storedEvents(provider: id).reversed().map { event in
            RecordedEvent(
                id: Int64(event["id"]?.numberValue ?? 0), externalID: event["external_id"]?.stringValue ?? "", type: event["type"]?.stringValue ?? "",
                occurredAt: nil, receivedAt: event["received_at"]?.numberValue ?? 0, payload: event["payload"] ?? .null)
        }
    }
}
