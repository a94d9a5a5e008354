import Dispatch
import Foundation
import PluginAPI
import Plugins
import Synchronization

/// `atom-hub providers [--plugins PATH] [--url URL]`: every built-in provider with its enabled flag,
/// and, from a running hub (`--url`, with `ADMIN_TOKEN` from the environment), whether it is loaded
/// (ready), not yet created, or failed with the reason. Without `--url` the state column reads from
/// plugins.json alone: a hub creates providers lazily, so only a running hub knows what loaded.
enum ProvidersCommand {
    struct Invocation: Equatable {
        var pluginsPath = "plugins.json"
        var pluginsPathIsDefault = true
        var url: String?
    }

    static func parse(_ arguments: ArraySlice<String>) throws(CommandLineInterface.UsageError) -> Invocation {
        var invocation = Invocation()
        var rest = arguments
        while let argument = rest.popFirst() {
            guard argument == "--plugins" || argument == "--url" else {
                throw CommandLineInterface.UsageError(description: "providers: unknown option '\(argument)' (expected --plugins PATH or --url URL)")
            }
            guard let value = rest.popFirst() else { throw CommandLineInterface.UsageError(description: "\(argument) needs a value") }
            if argument == "--url" {
                invocation.url = value
            } else {
                invocation.pluginsPath = value
                invocation.pluginsPathIsDefault = false
            }
        }
        return invocation
    }

    /// Prints the table; exit 1 when plugins.json or the hub cannot be read.
    static func run(_ invocation: Invocation, environment: HubEnvironment, providerTypes: [any Provider.Type] = allProviders) -> ExitCode {
        let rows: [(id: String, enabled: Bool, state: String)]
        if let url = invocation.url {
            do { rows = try fetch(url: url, token: environment["ADMIN_TOKEN"]) } catch {
                CommandLineInterface.printError("atom-hub providers: \(error)")
                return .failure
            }
        } else {
            let known = providerTypes.map { $0.descriptor.id }
            do {
                let configuration = try PluginsConfiguration.load(path: invocation.pluginsPath, isDefaultPath: invocation.pluginsPathIsDefault, knownProviders: known)
                rows = known.sorted().map { id in
                    let enabled = configuration.providers[id]?.enabled ?? false
                    return (id, enabled, enabled ? "enabled (loaded on first use; --url asks a running hub)" : "disabled")
                }
            } catch {
                CommandLineInterface.printError("atom-hub providers: configuration error: \(error)")
                return .failure
            }
        }
        let width = max(8, rows.map(\.id.count).max() ?? 0)
        print("PROVIDER".padding(toLength: width, withPad: " ", startingAt: 0) + "  ENABLED  STATE")
        for row in rows {
            print(row.id.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (row.enabled ? "yes    " : "no     ") + "  " + row.state)
        }
        return .success
    }

    struct FetchError: Error, CustomStringConvertible {
        let description: String
    }

    /// `GET <url>/api/admin/providers` with the admin token.
    private static func fetch(url: String, token: String?) throws -> [(id: String, enabled: Bool, state: String)] {
        guard let token, !token.isEmpty else { throw FetchError(description: "--url needs ADMIN_TOKEN in the environment") }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let request = OutboundRequest(url: base + "/api/admin/providers", headers: ["Authorization": "Bearer \(token)"])
        let result = Mutex<Result<OutboundResponse, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome = await Result(catching: { try await URLSessionHTTPClient().send(request) })
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        let response = try result.withLock { $0! }.get()
        guard response.status == 200 else { throw FetchError(description: "\(base) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))") }
        let providers = try JSONValue.parse(response.body)["providers"]?.arrayValue ?? []
        return providers.map { provider in
            let state = provider["state"]?.stringValue ?? "unknown"
            let label = state == "ready" ? "loaded" : state == "failed" ? "failed: \(provider["reason"]?.stringValue ?? "")" : state.replacingOccurrences(of: "_", with: " ")
            return (provider["id"]?.stringValue ?? "?", provider["enabled"]?.boolValue ?? false, label)
        }
    }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing call.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
