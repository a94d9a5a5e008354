import Foundation
import PluginAPI

/// `atom-hub secrets set NAME | list | rotate | import FILE [--data-dir PATH]`.
enum SecretsCommand {
    enum Action: Equatable {
        case set(name: String)
        case list
        case rotate
        case importFile(path: String)

        /// The subcommand's name, for audit rows.
        var name: String {
            switch self {
            case .set: "set"
            case .list: "list"
            case .rotate: "rotate"
            case .importFile: "import"
            }
        }
    }

    struct Invocation: Equatable {
        var action: Action
        var dataDirectory = URL(fileURLWithPath: "data")
    }

    static let usage = """
               atom-hub secrets set NAME [--data-dir PATH]      store a secret read from standard input (never argv)
               atom-hub secrets list [--data-dir PATH]          names and key ids (never values)
               atom-hub secrets rotate [--data-dir PATH]        OLD_ENCRYPTION_KEY → ENCRYPTION_KEY, one transaction
               atom-hub secrets import FILE [--data-dir PATH]   store {"NAME": "value"}, verify, then delete FILE
        """

    /// Parses the arguments after `secrets`.
    static func parse(_ arguments: ArraySlice<String>) throws(CommandLineInterface.UsageError) -> Invocation {
        var rest = arguments
        var positional: [String] = []
        var dataDirectory = URL(fileURLWithPath: "data")
        while let argument = rest.popFirst() {
            if argument == "--data-dir" {
                guard let value = rest.popFirst() else { throw .init(description: "--data-dir needs a value") }
                dataDirectory = URL(fileURLWithPath: value)
            } else if argument.hasPrefix("--data-dir=") {
                dataDirectory = URL(fileURLWithPath: String(argument.dropFirst("--data-dir=".count)))
            } else if argument.hasPrefix("-") {
                throw .init(description: "unknown option '\(argument)'")
            } else {
                positional.append(argument)
            }
        }
        let action: Action
        switch (positional.first, positional.count) {
        case ("set", 2): action = .set(name: positional[1])
        case ("list", 1): action = .list
        case ("rotate", 1): action = .rotate
        case ("import", 2): action = .importFile(path: positional[1])
        case ("set", _): throw .init(description: "secrets set takes one NAME (the value comes from standard input)")
        case ("import", _): throw .init(description: "secrets import takes one FILE")
        default: throw .init(description: "secrets needs one of: set NAME, list, rotate, import FILE")
        }
        return Invocation(action: action, dataDirectory: dataDirectory)
    }

    /// Runs `invocation`; `readInput` supplies standard input for `set`.
    static func run(_ invocation: Invocation, environment: HubEnvironment, readInput: () -> [UInt8]) -> ExitCode {
        let administration: SecretAdministration
        do { administration = try SecretAdministration.open(dataDirectory: invocation.dataDirectory, environment: environment) } catch {
            CommandLineInterface.printError("atom-hub: cannot open the secrets store: \(error)")
            return .failure
        }
        do {
            switch invocation.action {
            case .set(let name):
                try SecretStoreError.validate(name: name)
                var bytes = readInput()
                if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                guard !bytes.isEmpty, let value = String(validating: bytes, as: UTF8.self) else {
                    CommandLineInterface.printError("atom-hub: secrets set needs a non-empty UTF-8 value on standard input")
                    return .failure
                }
                let keyID = try administration.set(name: name, value: value)
                print("stored \(name) (key \(keyID))")
            case .list:
                let secrets = try administration.store.sealedSecrets()
                print("NAME\tKEY_ID")
                for secret in secrets { print("\(secret.name)\t\(secret.keyID)") }
            case .rotate:
                let (old, new, count) = try administration.rotate()
                print("rotated \(count) secret(s) from key \(old) to key \(new)")
            case .importFile(let path):
                var importer = SecretImport(administration: administration)
                #if DEBUG
                // Debug builds only: ATOM_DEBUG_KILL_AT=<step> SIGKILLs the process at that step, so tests can
                // show that a real kill between steps loses nothing. Release builds do not contain this.
                if let step = environment["ATOM_DEBUG_KILL_AT"].flatMap(SecretImport.Step.init(rawValue:)) {
                    importer.failpoint = { if $0 == step { raise(SIGKILL) } }
                }
                #endif
                let names = try importer.run(file: URL(fileURLWithPath: path))
                print("imported \(names.count) secret(s) and removed \(path): \(names.joined(separator: ", "))")
            }
            return .success
        } catch let error as SecretStoreError {
            CommandLineInterface.printError("atom-hub: \(error)")
            guard error.isConfiguration else { return .failure }
            administration.auditRefusal(error, command: invocation.action.name)
            return .config
        } catch {
            CommandLineInterface.printError("atom-hub: \(error)")
            return .failure
        }
    }
}
