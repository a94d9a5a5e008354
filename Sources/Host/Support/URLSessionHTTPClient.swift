import Foundation
import PluginAPI

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The host's outbound HTTP client, on Foundation's URLSession (libcurl on Linux). No redirects are
/// followed, so a signed request is never replayed to another host.
final class URLSessionHTTPClient: NSObject, HTTPClient, URLSessionTaskDelegate, @unchecked Sendable {
    // Safe: `session` is set once in init and URLSession is thread-safe.
    private var session: URLSession!

    override init() {
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
        urlRequest.timeoutInterval = Double(request.timeout.components.seconds) + Double(request.timeout.components.attoseconds) / 1e18
        for field in request.headers { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let sent = urlRequest
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: sent) { data, response, error in
                if let error {
                    continuation.resume(throwing: OutboundError(url: request.url, reason: error.localizedDescription))
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: OutboundError(url: request.url, reason: "no HTTP response"))
                    return
                }
                var headers = HTTPHeaders()
                for (name, value) in http.allHeaderFields {
                    headers.add(name: "\(name)", value: "\(value)")
                }
                continuation.resume(returning: OutboundResponse(status: http.statusCode, headers: headers, body: Array(data ?? Data())))
            }.resume()
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
