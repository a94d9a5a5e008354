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
        Logger(label: label, minimumLevel: level) { level, label, message, metadata in
            let line = self.line(format: format, timestamp: timestamp(), level: level, label: label, message: message, metadata: metadata)
            line.withCString { _ = write(2, $0, strlen($0)) }
        }
    }

    /// One record as a line (with its newline): `{"ts":…,"level":…,"label":…,"msg":…,…}` or `ts=… level=… label=… msg=… …`.
    static func line(format: LogFormat, timestamp: String, level: LogLevel, label: String, message: String, metadata: [(String, String)]) -> String {
        switch format {
        case .json:
            var object: JSONObject = ["ts": .string(timestamp), "level": .string(level.name), "label": .string(label), "msg": .string(message)]
            for (key, value) in metadata { object[key] = .string(value) }
            return String(decoding: JSONValue.object(object).serialized(), as: UTF8.self) + "\n"
        case .logfmt:
            var line = "ts=\(timestamp) level=\(level.name) label=\(label) msg=\(quoted(message))"
            for (key, value) in metadata { line += " \(key)=\(quoted(value))" }
            return line + "\n"
        }
    }

    /// The level named by `LOG_LEVEL` (debug, info, warning, error), or info.
    static func level(from value: String?) -> LogLevel {
        LogLevel.allCases.first { $0.name == value?.lowercased() } ?? .info
    }

    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, spec.tv_nsec / 1_000_000)
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
