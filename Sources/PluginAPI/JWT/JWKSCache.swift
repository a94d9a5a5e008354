import Foundation

/// The signing keys of an identity provider (Google, Microsoft), fetched lazily and cached.
///
/// Keys load on first use. A token whose `kid` is unknown triggers a refresh, at most once per
/// `minimumRefreshInterval` (so forged tokens cannot make the hub hammer the key server); keys older
/// than `maximumAge` are refreshed on their next use, so a key the provider withdrew stops verifying.
/// When a refresh fails the previous keys stay in use.
public actor JWKSCache {
    /// Where the key set comes from.
    public enum Source: Sendable, Equatable {
        /// Fetched with a GET through the host's HTTP client.
        case url(String)
        /// Read from a local file (for air-gapped hosts and tests).
        case file(String)
    }

    /// Key set documents larger than this are refused (Google's is about 2 KiB).
    public static let maximumDocumentBytes = 256 * 1024

    private let source: Source
    private let http: any HTTPClient
    private let clock: any WallClock
    private let logger: Logger
    private let minimumRefreshInterval: Double
    private let maximumAge: Double
    private let timeout: Duration
    private var keys: [String: RSAPublicKey] = [:]
    private var loadedAt: Double?
    private var lastAttempt: Double?
    private var lastFailure: String?
    private var refreshing: Task<Void, Never>?

    public init(
        source: Source, http: any HTTPClient, clock: any WallClock, logger: Logger, minimumRefreshInterval: Double = 60,
        maximumAge: Double = 3600, timeout: Duration = .seconds(5)
    ) {
        self.source = source
        self.http = http
        self.clock = clock
        self.logger = logger
        self.minimumRefreshInterval = minimumRefreshInterval
        self.maximumAge = maximumAge
        self.timeout = timeout
    }

    /// Checks `token`'s RS256 signature with the key named by its `kid`. The algorithm is checked
    /// first, so a token with any other `alg` causes no key lookup and no fetch. Only the lookup runs
    /// on the actor; the RSA arithmetic runs on the caller's executor, in parallel with other checks.
    nonisolated public func verifySignature(of token: JWT) async throws(JWTError) {
        let kid = try token.rs256KeyID()
        try token.verifySignature(with: try await key(for: kid))
    }

    /// The key named `kid`, refreshing the set when the kid is unknown or the keys are old
    /// (subject to the refresh interval). Throws `unknownKey`, or `keySetUnavailable` when the kid
    /// is unknown and the last attempt to load the set failed.
    public func key(for kid: String) async throws(JWTError) -> RSAPublicKey {
        let now = clock.now()
        let isStale = loadedAt.map { now < $0 || now - $0 >= maximumAge } ?? true
        if let key = keys[kid], !isStale { return key }
        if let refreshing {
            await refreshing.value
        } else if lastAttempt.map({ now < $0 || now - $0 >= minimumRefreshInterval }) ?? true {
            let task = Task { await refresh() }
            refreshing = task
            await task.value
        }
        if let key = keys[kid] { return key }
        if let lastFailure { throw .keySetUnavailable(lastFailure) }
        throw .unknownKey(kid)
    }

    private func refresh() async {
        lastAttempt = clock.now()
        defer { refreshing = nil }
        do {
            let set = try JWKSet(json: try await document())
            for reason in set.skipped { logger.info("skipped a key set entry", [("reason", reason)]) }
            guard !set.keys.isEmpty else { throw JWTError.keySetUnavailable("the key set holds no usable RS256 key") }
            keys = set.keys
            loadedAt = clock.now()
            lastFailure = nil
            logger.info("loaded the signing keys", [("keys", "\(set.keys.count)"), ("kids", set.keys.keys.sorted().joined(separator: ","))])
        } catch JWTError.keySetUnavailable(let reason) {
            fail(reason)
        } catch {
            fail("\(error)")
        }
    }

    private func fail(_ reason: String) {
        lastFailure = reason
        logger.warning("could not load the signing keys; keeping the previous ones", [("error", reason), ("known", "\(keys.count)")])
    }

    private func document() async throws -> [UInt8] {
        switch source {
        case .url(let url):
            let response = try await http.send(OutboundRequest(url: url, headers: ["Accept": "application/json"], timeout: timeout))
            guard response.status == 200 else { throw JWTError.keySetUnavailable("GET \(url) answered \(response.status)") }
            guard response.body.count <= Self.maximumDocumentBytes else { throw JWTError.keySetUnavailable("the key set is larger than \(Self.maximumDocumentBytes) bytes") }
            return response.body
        case .file(let path):
            // A local file of a few KiB: reading it blocks for microseconds, once a minute at most.
            guard let data = FileManager.default.contents(atPath: path) else { throw JWTError.keySetUnavailable("cannot read the key set file") }
            guard data.count <= Self.maximumDocumentBytes else { throw JWTError.keySetUnavailable("the key set file is larger than \(Self.maximumDocumentBytes) bytes") }
            return Array(data)
        }
    }
}
