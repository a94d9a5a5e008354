import PluginAPI
import Testing

@Suite("JSON parser and serializer")
struct JSONTests {
    @Test func parsesDocuments() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\u00e9\n\"q\" \ud83d\ude00"}} "#)
        #expect(value["a"] == [1, -2500, true, false, nil])
        #expect(value["b"]?["c"] == "dé\n\"q\" 😀")
    }

    @Test("Rejects what RFC 8259 does not allow", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "NaN", "'a'", "\"\u{01}\"", "[1] x", "{a:1}", "\"\\x\"", "\"\\ud800\"", "tru", "1e", "[",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xff, 0x22]) }
    }

    @Test func roundTrips() throws {
        let text = #"{"s":"a\"b\\c\n\u0001","n":[0,1.5,-3,1e+300],"o":{},"l":[]}"#
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(JSONValue.object(["k": "v", "n": 2]).jsonString == #"{"k":"v","n":2}"#)
    }

    @Test func objectKeepsOrderAndReplaces() {
        var object: JSONObject = ["z": 1, "a": 2]
        object["z"] = 3
        object["m"] = nil
        #expect(object.members.map(\.key) == ["a", "z"])
    }
}

