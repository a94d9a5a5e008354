import PluginAPI

extension SecretStore {
    /// The stored values among `names`, still sealed, by name (absent names are left out).
    func sealedSecrets(named names: [String]) throws -> [String: SealedSecret] {
        let statement = try connection.prepare(
            "SELECT name, key_id, nonce, ciphertext, updated_at FROM secrets WHERE name IN (SELECT value FROM json_each(?))")
        defer { statement.reset() }
        try statement.bind(1, JSONValue.array(names.map(JSONValue.string)).jsonString)
        var secrets: [String: SealedSecret] = [:]
        while try statement.step() {
            let name = statement.text(0) ?? ""
            secrets[name] = SealedSecret(
                name: name, keyID: statement.text(1) ?? "", sealed: AESGCM.Sealed(nonce: statement.blob(2), ciphertextAndTag: statement.blob(3)),
                updatedAt: statement.int64(4))
        }
        return secrets
    }
}
