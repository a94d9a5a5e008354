import Foundation
import PluginAPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reloads plugins.json into the running registry: on SIGHUP, on an admin API change, and when the
/// file changes on disk (a stat poll of mtime, size and inode once per `pollInterval`, which catches
/// edits in place and editors' rename-over alike, at the cost of one `stat` a second).
///
/// A reload applies providers, settings and forwarding destinations together. An invalid file (or a
/// destination whose secret does not resolve) keeps the last good configuration; the error is logged
/// and audited.
final class ConfigurationReloader: Sendable {
    /// What started a reload, for the log and audit row.
    enum Trigger: String, Sendable {
        case signal = "SIGHUP"
        case fileChange = "file_change"
        case adminAPI = "admin_api"
    }

    let path: String
    private let isDefaultPath: Bool
    private let knownProviders: [String]
    /// The forwarding targets in force, replaced by every good reload.
    private let forwarding: ForwardingTable
    /// The enabled providers' destinations of a configuration, their secrets resolved.
    private let resolveTargets: @Sendable (PluginsConfiguration) throws(ConfigurationError) -> [ForwardingTarget]
    private let registry: ProviderRegistry
    private let audit: AuditLog
    private let logger: Logger
    private let pollInterval: Double
    /// Serializes reloads, and holds the file fingerprint last seen by the poller.
    private let state = Mutex(State())
    private let stopPolling = DispatchSemaphore(value: 0)
    private let pollerFinished = DispatchSemaphore(value: 0)

    private struct State {
        var fingerprint: FileFingerprint?
        var polling = false
    }

    init(
        path: String, isDefaultPath: Bool, knownProviders: [String], forwarding: ForwardingTable,
        resolveTargets: @escaping @Sendable (PluginsConfiguration) throws(ConfigurationError) -> [ForwardingTarget], registry: ProviderRegistry,
        audit: AuditLog, logger: Logger, pollInterval: Double = 1
    ) {
        self.path = path
        self.isDefaultPath = isDefaultPath
        self.knownProviders = knownProviders
        self.forwarding = forwarding
        self.resolveTargets = resolveTargets
        self.registry = registry
        self.audit = audit
        self.logger = logger
        self.pollInterval = pollInterval
        state.withLock { $0.fingerprint = FileFingerprint(path: path) }
    }

    /// Loads the file and applies it; on failure keeps the current configuration. Returns the error, if any.
    @discardableResult
    func reload(_ trigger: Trigger) -> String? {
        state.withLock { state in load(trigger, fingerprint: FileFingerprint(path: path), state: &state) }
    }

    /// The admin API's switch: runs `rewrite` (which edits the file) and reloads, both inside the
    /// reload lock, so the poller cannot see the new file in between and reload it a second time.
    /// Returns the error of either, if any.
    func rewriteAndReload(_ rewrite: () throws -> Void) -> String? {
        state.withLock { state in
            do { try rewrite() } catch { return "\(error)" }
            return load(.adminAPI, fingerprint: FileFingerprint(path: path), state: &state)
        }
    }

    /// The poller's reload: only when the file's fingerprint differs from the last one seen, checked
    /// under the lock every reload takes. (Checked outside it, a fingerprint read just before an admin
    /// write and its reload looked changed afterwards, and the same file was reloaded and audited twice.)
    private func reloadIfChanged() {
        state.withLock { state in
            guard let current = FileFingerprint(path: path), current != state.fingerprint else { return }
            load(.fileChange, fingerprint: current, state: &state)
        }
    }

    /// Applies the file at `path` (seen with `fingerprint`) inside the reload lock, and audits it.
    @discardableResult
    private func load(_ trigger: Trigger, fingerprint: FileFingerprint?, state: inout State) -> String? {
        state.fingerprint = fingerprint
        let configuration: PluginsConfiguration
        let targets: [ForwardingTarget]
        do {
            configuration = try PluginsConfiguration.load(path: path, isDefaultPath: isDefaultPath, knownProviders: knownProviders)
            targets = try resolveTargets(configuration)  // Before anything is applied: all or nothing.
        } catch {
            let problem = "\(error)"
            logger.error("plugins.json reload failed; keeping the last good configuration", [("trigger", trigger.rawValue), ("error", problem)])
            audit.record(AuditEvent(.configurationReloadFailed, severity: .warning, details: ["trigger": .string(trigger.rawValue), "error": .string(problem)]))
            return problem
        }
        let changes = registry.apply(configuration)
        let forwardingChange = forwarding.replace(with: targets)
        let summary = changes.map { "\($0.id)=\($0.enabled ? "on" : "off")\($0.settingsChanged ? "+settings" : "")" }.joined(separator: " ")
        logger.info(
            "plugins.json reloaded",
            [
                ("trigger", trigger.rawValue), ("changes", summary.isEmpty ? "none" : summary),
                ("destinations_added", forwardingChange.added.joined(separator: ",")),
                ("destinations_removed", forwardingChange.removed.joined(separator: ",")),
                ("destinations_modified", forwardingChange.modified.joined(separator: ",")),
            ])
        audit.record(
            AuditEvent(
                .configurationReloaded, severity: .info,
                details: [
                    "trigger": .string(trigger.rawValue),
                    "changes": .array(changes.map { ["provider": .string($0.id), "enabled": .bool($0.enabled), "settings_changed": .bool($0.settingsChanged)] }),
                    "destinations": [
                        "added": .array(forwardingChange.added.map { .string($0) }), "removed": .array(forwardingChange.removed.map { .string($0) }),
                        "modified": .array(forwardingChange.modified.map { .string($0) }),
                    ],
                ]))
        return nil
    }

    /// Starts the file poller thread.
    func startWatching() {
        state.withLock { $0.polling = true }
        System.startThread(named: "atom.plugins") { [self] in
            while stopPolling.wait(timeout: .now() + pollInterval) == .timedOut { reloadIfChanged() }
            pollerFinished.signal()
        }
    }

    /// Stops the poller and waits for it.
    func stopWatching() {
        guard state.withLock({ state in defer { state.polling = false }; return state.polling }) else { return }
        stopPolling.signal()
        pollerFinished.wait()
    }
}

/// What the poller compares: a rewrite changes the inode (rename) or the mtime and size (in place).
struct FileFingerprint: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    /// nil when the file does not exist or cannot be read.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
    }
}
