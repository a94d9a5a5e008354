#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginAPI

/// How log lines are written: one JSON object per line (the default) or logfmt (`key=value`).
enum LogFormat: String, Sendable, CaseIterable {
    case json, logfmt
}

/// Writes log records to standard error, one line each, as JSON or logfmt.
enum LogOutput {
    /// A logger writing to stderr at `level` and above.
    static func standardError(label: String, level: LogLevel, format: LogFormat = .json) -> Logger {
        logger(label: label, level: level, format: format, sink: .standardError)
    }

    /// A logger writing to `sink`. Each line is formatted straight into the sink's buffer: no
    /// intermediate strings or arrays (this runs once per request for the access log).
    static func logger(label: String, level: LogLevel, format: LogFormat, sink: LogSink) -> Logger {
        Logger(label: label, minimumLevel: level) { level, label, message, metadata in
            sink.append { out in
                write(format: format, level: level, label: label, message: message, metadata: metadata, to: &out) { appendTimestamp(to: &$0) }
            }
        }
    }

    /// One record as a line (with its newline): `{"ts":…,"level":…,"label":…,"msg":…,…}` or `ts=… level=… label=… msg=… …`.
    static func line(format: LogFormat, timestamp: String, level: LogLevel, label: String, message: String, metadata: [(String, String)]) -> String {
        var out = [UInt8]()
        write(format: format, level: level, label: label, message: message, metadata: metadata, to: &out) { $0.append(contentsOf: timestamp.utf8) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one record, with its newline, to `out`; `timestamp` appends the time's digits.
    private static func write(
        format: LogFormat, level: LogLevel, label: String, message: String, metadata: [(String, String)], to out: inout [UInt8],
        timestamp: (inout [UInt8]) -> Void
    ) {
        switch format {
        case .json:
            out.append(contentsOf: #"{"ts":""#.utf8)
            timestamp(&out)
            out.append(contentsOf: #"","level":"#.utf8)
            JSONValue.writeString(level.name, to: &out)
            out.append(contentsOf: #","label":"#.utf8)
            JSONValue.writeString(label, to: &out)
            out.append(contentsOf: #","msg":"#.utf8)
            JSONValue.writeString(message, to: &out)
            for (key, value) in metadata {
                out.append(UInt8(ascii: ","))
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONValue.writeString(value, to: &out)
            }
            out.append(contentsOf: "}\n".utf8)
        case .logfmt:
            out.append(contentsOf: "ts=".utf8)
            timestamp(&out)
            out.append(contentsOf: " level=".utf8)
            out.append(contentsOf: level.name.utf8)
            out.append(contentsOf: " label=".utf8)
            out.append(contentsOf: label.utf8)
            out.append(contentsOf: " msg=".utf8)
            appendQuoted(message, to: &out)
            for (key, value) in metadata {
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: key.utf8)
                out.append(UInt8(ascii: "="))
                appendQuoted(value, to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// The level named `value` (debug, info, warning, error; any case), nil for anything else.
    static func level(named value: String) -> LogLevel? {
        LogLevel.allCases.first { $0.name == value.lowercased() }
    }

    /// Appends the current UTC time as `2026-11-29T07:45:12.345Z`, digits written by hand:
    /// String(format:) goes through Foundation's formatter, and string concatenation allocates, on every log line.
    static func appendTimestamp(to out: inout [UInt8]) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func put(_ value: Int, _ width: Int, then separator: UInt8) {
            out.appendDecimal(value, digits: width)
            out.append(separator)
        }
        put(Int(parts.tm_year) + 1900, 4, then: UInt8(ascii: "-"))
        put(Int(parts.tm_mon) + 1, 2, then: UInt8(ascii: "-"))
        put(Int(parts.tm_mday), 2, then: UInt8(ascii: "T"))
        put(Int(parts.tm_hour), 2, then: UInt8(ascii: ":"))
        put(Int(parts.tm_min), 2, then: UInt8(ascii: ":"))
        put(Int(parts.tm_sec), 2, then: UInt8(ascii: "."))
        put(spec.tv_nsec / 1_000_000, 3, then: UInt8(ascii: "Z"))
    }

    /// Appends `value` as a logfmt value: bare when it needs no quotes, else quoted with `\"`, `\\`,
    /// `\n`, `\r`, `\t` and `\u00XX` escapes.
    private static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        let utf8 = value.utf8
        let needsQuotes = utf8.isEmpty || utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
        guard needsQuotes else {
            out.append(contentsOf: utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(Hex.digits[Int(byte >> 4)])
                out.append(Hex.digits[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
