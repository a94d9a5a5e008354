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

    @Test("Numbers equal what Double makes of their text, across the integer fast path's edges", arguments: [
        "0", "-0", "7", "-42", "1795941202", "999999999999999", "-999999999999999", "9999999999999999", "12345678901234567890",
        "1.5", "-0.25", "1e3", "2E-2", "123456789012345.5",
    ])
    func numbersMatchDouble(_ text: String) throws {
        let parsed = try #require(try JSONValue.parse(text).numberValue)
        let expected = try #require(Double(text))
        #expect(parsed == expected && parsed.sign == expected.sign)
    }

    @Test("Empty objects and arrays take no storage, and a small object reserves little: a body of tiny objects stays near its size")
    func storageStaysSmall() throws {
        let parsed = try JSONValue.parse(Array(#"[{}, [], {"a": 1}, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}]"#.utf8))
        let items = try #require(parsed.arrayValue)
        #expect(items[0].objectValue?.members.capacity == 0)
        #expect(items[1].arrayValue?.capacity == 0)
        #expect((items[2].objectValue?.members.capacity ?? 99) <= 4)
        #expect(items[3].objectValue?.members.count == 5)
    }

    @Test("Quotes, backslashes, control characters and non-ASCII bytes are found at every offset of the eight-byte scan")
    func specialBytesAtEveryOffset() throws {
        let specials: [UInt8] = Array(0..<0x20) + [UInt8(ascii: "\""), UInt8(ascii: "\\")]
        for length in [1, 7, 8, 9, 16, 23] {
            for position in 0..<length {
                for fill in ["a", "é"] {  // ASCII filler, and two-byte UTF-8 filler (high bits in every word)
                    for special in specials {
                        // The special byte replaces the filler character at `position`, so the text stays valid UTF-8.
                        var characters = Array(repeating: Array(fill.utf8), count: length)
                        characters[position] = [special]
                        let base = characters.flatMap { $0 }
                        let offset = characters[..<position].reduce(0) { $0 + $1.count }
                        let text = try #require(String(validating: base, as: UTF8.self))
                        let serialized = JSONValue.string(text).serialized()
                        #expect(!serialized.dropFirst().dropLast().contains { $0 < 0x20 }, "raw control byte at \(offset)")
                        #expect(try JSONValue.parse(serialized) == .string(text), "round trip with \(special) at \(offset)")
                        if special < 0x20 {
                            #expect(throws: JSONParseError.self, "raw control byte \(special) at \(offset)") {
                                try JSONValue.parse([UInt8(ascii: "\"")] + base + [UInt8(ascii: "\"")])
                            }
                        }
                    }
                }
                var invalid = Array(String(repeating: "a", count: length).utf8)
                invalid[position] = 0xFF
                #expect(throws: JSONParseError.self, "invalid UTF-8 at \(position)") {
                    try JSONValue.parse([UInt8(ascii: "\"")] + invalid + [UInt8(ascii: "\"")])
                }
                var accented = Array(String(repeating: "a", count: length).utf8)
                accented.replaceSubrange(position..<(position + 1), with: Array("é".utf8))
                #expect(try JSONValue.parse([UInt8(ascii: "\"")] + accented + [UInt8(ascii: "\"")]).stringValue?.utf8.count == length + 1)
            }
        }
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

