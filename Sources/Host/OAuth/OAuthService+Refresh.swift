import PluginAPI

/// Background refresh of access tokens, as jobs of the durable queue.
extension OAuthService {
    /// Queues the refresh of `connection` at its expiry minus the margin, when it can be refreshed.
    func scheduleRefresh(_ connection: OAuthConnection) async throws {
        guard let expiresAt = connection.expiresAt, connection.hasRefreshToken else { return }
        let lifetime = max(Double(expiresAt - now) / 1000, 0)
        // Not sooner than a minute from now: a token endpoint that grants seconds-long tokens must not
        // make the hub refresh in a tight loop.
        let runAt = max(Double(expiresAt) / 1000 - min(Self.refreshMargin, lifetime / 2), Double(now) / 1000 + Self.minimumRefreshDelay)
        try await jobQueue.enqueue(
            kind: Self.refreshKind(connection.provider), payload: ["connection_id": .number(Double(connection.id)), "generation": .number(Double(connection.generation))],
            runAt: runAt, idempotencyKey: "oauth-refresh-\(connection.id)-\(connection.generation)", maxAttempts: Self.refreshAttempts)
    }

    /// Queues the refresh of every active connection that has none (the job key makes this idempotent),
    /// so a crash between storing a connection's tokens and queuing their refresh cannot leave it to
    /// expire. Run at start; stops early when the task is cancelled.
    func scheduleMissingRefreshes() async {
        do {
            for connection in try await store.connections(status: .active, limit: Int(Int32.max)) {
                if Task.isCancelled { return }
                try await scheduleRefresh(connection)
            }
        } catch {
            logger.error("queuing the OAuth refreshes of active connections failed; they are queued again at the next start", [("error", "\(error)")])
        }
    }

    /// The refresh job: a refused refresh marks the connection `needs_reauth` (audited) and ends the job;
    /// a transient failure throws, so the job is retried with backoff.
    func refresh(_ payload: JSONValue) async throws -> JobResult {
        guard let id = payload["connection_id"]?.numberValue.flatMap({ Int64(exactly: $0) }),
            let generation = payload["generation"]?.numberValue.flatMap({ Int64(exactly: $0) })
        else {
            return .fatal("the payload has no connection_id and generation")
        }
        // Deleted, reconnected or refreshed since this job was queued, or already needing re-authorization: nothing to do,
        // but make sure a newer generation has its own job (queuing it may have failed after its tokens were stored).
        guard let (connection, sealed) = try await store.connectionAndRefreshToken(id: id), connection.status == .active else { return .success }
        guard connection.generation == generation else {
            try await scheduleRefresh(connection)  // Idempotent: the job key names the generation.
            return .success
        }
        let client = try client(connection.provider)
        let key = try await keyring.key()
        guard let sealed else { return .success }
        let refreshToken = try SecretStore.open(sealed, with: key)
        let metadata = [("provider", connection.provider), ("user", connection.userID), ("connection", "\(id)")]
        do {
            let grant = try await TokenEndpoint(client: client, http: http).refresh(refreshToken: refreshToken)
            guard let updated = try await store.storeRefresh(id: id, generation: generation, grant: grant, key: key, now: now) else { return .success }
            try await scheduleRefresh(updated)
            logger.info("OAuth token refreshed", metadata)
            return .success
        } catch TokenEndpointError.refused(let code, let status) {
            let reason = "refresh refused by the provider (\(status) \(code)); the user must connect again"
            guard try await store.markNeedsReauth(id: id, generation: generation, error: reason, now: now) else { return .success }
            audit.record(
                AuditEvent(
                    .oauthRefreshFailed, severity: .warning, userID: connection.userID,
                    details: ["provider": .string(connection.provider), "connection_id": .number(Double(id)), "error": .string(code), "status": "needs_reauth"]))
            logger.warning("OAuth refresh refused; the connection needs re-authorization", metadata + [("error", code)])
            return .fatal(reason)
        } catch TokenEndpointError.transient(let reason) {
            try await store.recordRefreshError(id: id, generation: generation, error: "the last refresh attempt failed: \(reason)", now: now)
            logger.warning("OAuth refresh failed; it will be retried", metadata + [("reason", reason)])
            throw TokenEndpointError.transient(reason)  // Retried with the queue's backoff.
        }
    }
}
