import Foundation
import PluginAPI
import Synchronization

@testable import Host

/// A local stand-in for an outside API (Google's key server, Slack's Web API, a forwarding target),
/// on our own HTTP server: every request is recorded and answered by `handler`.
final class FakeServer: Sendable {
    typealias Handler = @Sendable (Request) async -> Response

    private let server: HTTPServer
    private let recorder: Recorder
    let port: Int

    /// Starts listening on 127.0.0.1 at a free port.
    init(handler: @escaping Handler) throws {
        recorder = Recorder(handler: handler)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.eventLoops = 1
        server = HTTPServer(configuration: configuration, responder: recorder, logger: .disabled)
        port = try server.start()
    }

    /// The absolute URL of `path` on this server.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The requests received so far, in order.
    var requests: [Request] { recorder.requests }

    /// Stops the server on a thread of its own (shutdown blocks until in-flight handlers finish).
    func stop() async {
        let server = server
        await Blocking.runNonThrowing { server.shutdown() }
    }

    /// The responder: records, then delegates to the test's handler.
    private final class Recorder: HTTPResponder {
        let handler: Handler
        private let received = Mutex<[Request]>([])

        init(handler: @escaping Handler) { self.handler = handler }

        var requests: [Request] { received.withLock { $0 } }

        func rejected(status: Int, reason: String, remoteAddress: String) {}

        func route(method: HTTPMethod, path: String) -> HTTPRoute {
            HTTPRoute(maxBodyBytes: 1 << 20) { [self] request in
                received.withLock { $0.append(request) }
                return await handler(request)
            }
        }
    }
}
