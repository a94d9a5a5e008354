import Foundation
import PluginAPI
import Plugins

extension CommandLineInterface {
    /// `atom-hub validate-config`: the checks `serve` runs at startup, printed as a table, without
    /// starting anything or writing key files. Exit 1 on a critical finding under production rules,
    /// or when plugins.json or a key file is unusable (serve refuses those in every environment); 0 otherwise.
    static func validateConfig(_ options: HubOptions, environment: HubEnvironment, providerTypes: [any Provider.Type] = allProviders) -> ExitCode {
        let findings: [SecurityFinding]
        let deployment = DeploymentEnvironment(environment)
        var unusable = false
        do {
            let review = try SecurityReview.prepare(options: options, environment: environment, providerTypes: providerTypes, create: false)
            _ = try review.forwardingTargets(of: review.configuration, file: options.pluginsPath)  // Destinations whose secret does not resolve stop serve too.
            findings = review.findings()
        } catch let error as StartupRefusal {
            unusable = true  // Unusable key files: serve refuses them under every rule set.
            findings = error.findings
        } catch {
            unusable = true
            findings = [SecurityFinding(severity: .critical, subject: "plugins.json", message: "\(error)", recommendation: "fix the file; serve will not start with it")]
        }
        print(table(findings))
        let status = SecurityReview.status(of: findings)
        let refused = unusable || (deployment.isProduction && status == "critical")
        print("\nresult: \(status) under \(deployment.mode.rawValue) rules" + (refused ? "; serve would refuse to start" : ""))
        return refused ? .failure : .success
    }

    /// Findings as aligned columns: severity, subject, message and recommendation.
    static func table(_ findings: [SecurityFinding]) -> String {
        let subjectWidth = max(7, findings.map(\.subject.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [pad("SEVERITY", 10) + pad("SUBJECT", subjectWidth + 2) + "FINDING"]
        for finding in findings {
            let text = finding.message + (finding.recommendation.isEmpty ? "" : " — \(finding.recommendation)")
            lines.append(pad(finding.severity.rawValue, 10) + pad(finding.subject, subjectWidth + 2) + text)
        }
        return lines.joined(separator: "\n")
    }
}
