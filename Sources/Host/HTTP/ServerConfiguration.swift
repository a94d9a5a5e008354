/// Every limit and timeout of the HTTP server, in one place. Flags and environment variables set them.
struct ServerConfiguration: Sendable {
    var host = "127.0.0.1"
    /// 0 picks any free port.
    var port = 8080
    /// Event-loop threads; defaults to the number of cores.
    var eventLoops = max(1, System.coreCount)
    /// Request line plus header fields, in bytes (431 beyond).
    var maxHeaderBytes = 16 * 1024
    /// Header fields per request (431 beyond).
    var maxHeaderCount = 100
    /// Body limit for requests that match no route (routes declare their own).
    var defaultMaxBodyBytes = 1 << 20
    /// Open connections; beyond it a new connection is answered 503 and closed.
    var maxConnections = 16_384
    /// Time allowed to receive a request's head, from its first byte (slowloris).
    var headerReadTimeout: Duration = .seconds(10)
    /// Time allowed to receive a request's body (slow POST).
    var bodyReadTimeout: Duration = .seconds(30)
    /// How long a keep-alive connection may sit idle between requests.
    var idleTimeout: Duration = .seconds(60)
    /// Time allowed to write a response to a slow reader.
    var writeTimeout: Duration = .seconds(30)
    /// How long shutdown waits for in-flight requests before closing everything.
    var shutdownGracePeriod: Duration = .seconds(10)
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies), as canonical IP literals.
    var trustedProxies: [String] = []
    /// PEM certificate chain and private key; TLS is on when both are set.
    var tlsCertificatePath: String?
    var tlsKeyPath: String?

    /// The timer resolution: a quarter of the shortest timeout, between 10 ms and 1 s.
    var tick: Duration {
        let shortest = [headerReadTimeout, bodyReadTimeout, idleTimeout, writeTimeout].min()!
        return min(max(shortest / 4, .milliseconds(10)), .seconds(1))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ UInt64(attoseconds / 1_000_000_000)
    }
}
