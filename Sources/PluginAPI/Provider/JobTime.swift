/// Due times of background jobs: what the queue can hold, and how request handlers read one.
public enum JobTime {
    /// Seconds since 1970 a job may be due at: years 1970 to 9999 (a millisecond column holds them all).
    public static let range: ClosedRange<Double> = 0...253_402_300_799

    /// Reads a request's due time (`post_at`): an RFC 3339 string within ``range``, else 400 naming `member`.
    public static func parse(_ value: JSONValue?, member: String) throws(HTTPError) -> (text: String, seconds: Double) {
        guard let text = value?.stringValue, let seconds = RFC3339.parse(text) else {
            throw .badRequest("\(member) must be an RFC 3339 time with Z or an offset, such as 2026-12-01T09:00:00Z")
        }
        guard range.contains(seconds) else { throw .badRequest("\(member) must be between the years 1970 and 9999") }
        return (text, seconds)
    }
}
