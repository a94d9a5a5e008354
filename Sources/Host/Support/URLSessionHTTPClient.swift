import Dispatch
import Foundation
import PluginAPI
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The host's outbound HTTP client, on Foundation's URLSession (libcurl on Linux). No redirects are
/// followed, so a signed request is never replayed to another host. Response bodies are bounded: one
/// larger than `maxResponseBytes` is cut off and the request fails, so a misbehaving server cannot
/// exhaust memory. The request's timeout bounds the whole exchange (URLSession's own is only an idle
/// timeout, which a server sending a byte now and then never trips).
final class URLSessionHTTPClient: NSObject, HTTPClient, URLSessionDataDelegate, @unchecked Sendable {
    // Safe: `session` is set once in init and URLSession is thread-safe; the rest is immutable or in a Mutex.
    private var session: URLSession!
    let maxResponseBytes: Int

    /// A request in flight: the body so far and who waits for it.
    private struct Exchange {
        let url: String
        let continuation: CheckedContinuation<OutboundResponse, any Error>
        var body = Data()
        var tooLarge = false
        var timedOut = false
    }

    private let exchanges = Mutex<[Int: Exchange]>([:])

    init(maxResponseBytes: Int = 4 << 20) {
        self.maxResponseBytes = maxResponseBytes
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw OutboundError(url: request.url, reason: "not an absolute http(s) URL")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        let timeout = Double(request.timeout.components.seconds) + Double(request.timeout.components.attoseconds) / 1e18
        urlRequest.timeoutInterval = timeout + 1  // Idle timeout; the deadline below ends the exchange first.
        for field in request.headers { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let sent = urlRequest
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: sent)
            let id = task.taskIdentifier
            exchanges.withLock { $0[id] = Exchange(url: request.url, continuation: continuation) }
            task.resume()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                let late = exchanges.withLock { exchanges -> Bool in
                    guard exchanges[id] != nil else { return false }
                    exchanges[id]?.timedOut = true
                    return true
                }
                if late { task.cancel() }
            }
        }
    }

    /// Collects the body, cancelling the request once it passes `maxResponseBytes`.
    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let limit = maxResponseBytes
        let cancel = exchanges.withLock { exchanges -> Bool in
            guard var exchange = exchanges[dataTask.taskIdentifier], !exchange.tooLarge else { return false }
            if exchange.body.count + data.count > limit {
                exchange.tooLarge = true
                exchange.body = Data()
            } else {
                exchange.body.append(data)
            }
            exchanges[dataTask.taskIdentifier] = exchange
            return exchange.tooLarge
        }
        if cancel { dataTask.cancel() }
    }

    /// Answers the waiting caller: the response, or why there is none.
    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = exchanges.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if exchange.timedOut {
            exchange.continuation.resume(throwing: OutboundError(url: exchange.url, reason: "no complete response within the request's timeout"))
        } else if exchange.tooLarge {
            exchange.continuation.resume(throwing: OutboundError(url: exchange.url, reason: "the response body is larger than \(maxResponseBytes) bytes"))
        } else if let error {
            exchange.continuation.resume(throwing: OutboundError(url: exchange.url, reason: error.localizedDescription))
        } else if let http = task.response as? HTTPURLResponse {
            var headers = HTTPHeaders()
            for (name, value) in http.allHeaderFields {
                headers.add(name: "\(name)", value: "\(value)")
            }
            exchange.continuation.resume(returning: OutboundResponse(status: http.statusCode, headers: headers, body: Array(exchange.body)))
        } else {
            exchange.continuation.resume(throwing: OutboundError(url: exchange.url, reason: "no HTTP response"))
        }
    }

    /// Redirects are returned to the caller as responses, never followed.
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
