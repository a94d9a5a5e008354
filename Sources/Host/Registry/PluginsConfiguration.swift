import Foundation
import PluginAPI

/// A `plugins.json` that cannot be used; startup stops with exit code 78 (EX_CONFIG).
struct ConfigurationError: Error, CustomStringConvertible {
    let file: String
    let key: String?
    let problem: String

    var description: String {
        "\(file): " + (key.map { "\($0): " } ?? "") + problem
    }
}

/// One provider's entry in `plugins.json`.
struct ProviderEntry: Sendable {
    var enabled: Bool
    var settings: JSONObject
    /// Services that receive this provider's stored events (see docs/jobs.md).
    var destinations: [Destination] = []
}

/// `plugins.json`: `{"providers": {"<id>": {"enabled": true, "settings": {...}, "destinations": [...]}}}`.
/// A provider absent from the file is disabled.
struct PluginsConfiguration: Sendable {
    var providers: [String: ProviderEntry]
    /// True when the defaults were used because the default file is missing.
    var isDefault = false

    /// Every known provider enabled with default settings.
    static func allEnabled(_ known: [String]) -> PluginsConfiguration {
        PluginsConfiguration(providers: Dictionary(uniqueKeysWithValues: known.map { ($0, ProviderEntry(enabled: true, settings: [:])) }), isDefault: true)
    }

    /// Loads and validates `path`. A missing file at the default path means "all providers enabled".
    static func load(path: String, isDefaultPath: Bool, knownProviders: [String]) throws(ConfigurationError) -> PluginsConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            if isDefaultPath { return allEnabled(knownProviders) }
            throw ConfigurationError(file: path, key: nil, problem: "the file does not exist")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigurationError(file: path, key: nil, problem: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(Array(data), file: path, knownProviders: knownProviders)
    }

    /// Validates the document strictly: unknown keys, unknown providers and wrong types are errors.
    static func parse(_ bytes: [UInt8], file: String, knownProviders: [String]) throws(ConfigurationError) -> PluginsConfiguration {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch {
            throw ConfigurationError(file: file, key: nil, problem: "is not valid JSON (\(error))")
        }
        guard let root = document.objectValue else {
            throw ConfigurationError(file: file, key: nil, problem: "expected a JSON object at the top level")
        }
        for member in root.members where member.key != "providers" {
            throw ConfigurationError(file: file, key: member.key, problem: "unknown key; expected only \"providers\"")
        }
        guard let providersValue = root["providers"] else {
            throw ConfigurationError(file: file, key: "providers", problem: "missing; expected an object of provider entries")
        }
        guard let providers = providersValue.objectValue else {
            throw ConfigurationError(file: file, key: "providers", problem: "expected an object of provider entries")
        }
        var entries: [String: ProviderEntry] = [:]
        for (id, value) in providers.members {
            let key = "providers.\(id)"
            guard knownProviders.contains(id) else {
                throw ConfigurationError(file: file, key: key, problem: "unknown provider; known providers: \(knownProviders.sorted().joined(separator: ", "))")
            }
            guard let entry = value.objectValue else {
                throw ConfigurationError(file: file, key: key, problem: "expected an object with \"enabled\" and \"settings\"")
            }
            var enabled = true
            var settings = JSONObject()
            var destinations: [Destination] = []
            for member in entry.members {
                switch member.key {
                case "enabled":
                    guard let flag = member.value.boolValue else {
                        throw ConfigurationError(file: file, key: "\(key).enabled", problem: "expected true or false")
                    }
                    enabled = flag
                case "settings":
                    guard let object = member.value.objectValue else {
                        throw ConfigurationError(file: file, key: "\(key).settings", problem: "expected an object")
                    }
                    settings = object
                case "destinations":
                    destinations = try Destination.parseList(member.value, provider: id, file: file, key: "\(key).destinations")
                    for destination in destinations where entries.values.contains(where: { $0.destinations.contains { $0.id == destination.id } }) {
                        throw ConfigurationError(file: file, key: "\(key).destinations", problem: "destination id '\(destination.id)' is also used by another provider")
                    }
                default:
                    throw ConfigurationError(file: file, key: "\(key).\(member.key)", problem: "unknown key; expected \"enabled\", \"settings\" or \"destinations\"")
                }
            }
            entries[id] = ProviderEntry(enabled: enabled, settings: settings, destinations: destinations)
        }
        return PluginsConfiguration(providers: entries)
    }
}
