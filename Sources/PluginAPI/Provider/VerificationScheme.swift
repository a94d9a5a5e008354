/// How a provider authenticates its webhooks, as the security report shows it.
public struct VerificationScheme: Sendable {
    /// One line naming the scheme (`HMAC-SHA256 over v0:timestamp:body (X-Slack-Signature)`).
    public var summary: String
    /// The replay window for signed timestamps, when the scheme has one.
    public var replayWindow: TimestampWindow?

    public init(summary: String, replayWindow: TimestampWindow? = nil) {
        self.summary = summary
        self.replayWindow = replayWindow
    }
}
