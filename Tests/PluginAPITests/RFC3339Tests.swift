import PluginAPI
import Testing

@Suite("RFC 3339")
struct RFC3339Tests {
    @Test("Z, offsets and fractional seconds")
    func parses() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2023-11-14T22:13:20Z") == 1_700_000_000)
        #expect(RFC3339.parse("2023-11-14t22:13:20z") == 1_700_000_000)
        #expect(RFC3339.parse("2023-11-15T00:13:20+02:00") == 1_700_000_000)
        #expect(RFC3339.parse("2023-11-14T17:43:20-04:30") == 1_700_000_000)
        #expect(RFC3339.parse("2023-11-14T22:13:20.25Z") == 1_700_000_000.25)
        #expect(RFC3339.parse("2023-11-14T22:13:20.5+00:00") == 1_700_000_000.5)
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") == 1_709_164_800)
        #expect(RFC3339.parse("1969-12-31T23:59:59Z") == -1)
    }

    @Test("Rejects garbage and out-of-range fields", arguments: [
        "", "garbage", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13Z", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0200", "2023-11-14T22:13:20Zjunk",
        "1700000000", "2023-1-14T22:13:20Z", "２０２３-11-14T22:13:20Z",
    ])
    func rejects(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
