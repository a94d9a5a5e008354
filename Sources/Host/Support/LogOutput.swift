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

    /// A logger writing to `sink`.
    static func logger(label: String, level: LogLevel, format: LogFormat, sink: LogSink) -> Logger {
        Logger(label: label, minimumLevel: level) { level, label, message, metadata in
            sink.append(bytes(format: format, timestamp: timestamp(), level: level, label: label, message: message, metadata: metadata))
        }
    }

    /// One record as a line (with its newline): `{"ts":…,"level":…,"label":…,"msg":…,…}` or `ts=… level=… label=… msg=… …`.
    static func line(format: LogFormat, timestamp: String, level: LogLevel, label: String, message: String, metadata: [(String, String)]) -> String {
        String(decoding: bytes(format: format, timestamp: timestamp, level: level, label: label, message: message, metadata: metadata), as: UTF8.self)
    }

    /// ``line(format:timestamp:level:label:message:metadata:)`` as UTF-8, written without building an intermediate JSON tree.
    static func bytes(format: LogFormat, timestamp: String, level: LogLevel, label: String, message: String, metadata: [(String, String)]) -> [UInt8] {
        switch format {
        case .json:
            var out = [UInt8]()
            out.reserveCapacity(256)
            func member(_ key: String, _ value: String, first: Bool = false) {
                out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONValue.writeString(value, to: &out)
            }
            member("ts", timestamp, first: true)
            member("level", level.name)
            member("label", label)
            member("msg", message)
            for (key, value) in metadata { member(key, value) }
            out.append(contentsOf: "}\n".utf8)
            return out
        case .logfmt:
            var line = "ts=\(timestamp) level=\(level.name) label=\(label) msg=\(quoted(message))"
            for (key, value) in metadata { line += " \(key)=\(quoted(value))" }
            return Array((line + "\n").utf8)
        }
    }

    /// The level named by `LOG_LEVEL` (debug, info, warning, error), or info.
    static func level(from value: String?) -> LogLevel {
        LogLevel.allCases.first { $0.name == value?.lowercased() } ?? .info
    }

    /// The current UTC time as `2026-11-29T07:45:12.345Z`, digits written by hand: String(format:)
    /// goes through Foundation's formatter, and string concatenation allocates, on every log line.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            func put(_ value: Int, _ width: Int, then separator: UInt8?) {
                var remaining = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
                index += width
                if let separator {
                    buffer[index] = separator
                    index += 1
                }
            }
            put(Int(parts.tm_year) + 1900, 4, then: UInt8(ascii: "-"))
            put(Int(parts.tm_mon) + 1, 2, then: UInt8(ascii: "-"))
            put(Int(parts.tm_mday), 2, then: UInt8(ascii: "T"))
            put(Int(parts.tm_hour), 2, then: UInt8(ascii: ":"))
            put(Int(parts.tm_min), 2, then: UInt8(ascii: ":"))
            put(Int(parts.tm_sec), 2, then: UInt8(ascii: "."))
            put(spec.tv_nsec / 1_000_000, 3, then: UInt8(ascii: "Z"))
            return index
        }
    }

    /// Quotes a logfmt value when it has spaces, quotes, '=' or control characters.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
