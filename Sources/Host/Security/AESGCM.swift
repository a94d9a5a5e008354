import COpenSSL

/// AES-256-GCM (OpenSSL EVP): authenticated encryption with associated data.
enum AESGCM {
    static let nonceBytes = 12
    static let tagBytes = 16

    /// A ciphertext with its 16-byte tag appended, and the nonce it was sealed with.
    struct Sealed: Sendable, Equatable {
        let nonce: [UInt8]
        let ciphertextAndTag: [UInt8]
    }

    /// The tag did not verify: wrong key, wrong associated data, or altered bytes.
    struct AuthenticationFailure: Error {}

    /// Encrypts `plaintext` under `key` (32 bytes) with a fresh random nonce.
    static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) -> Sealed {
        let nonce = SecureRandom.bytes(nonceBytes)
        let result = run(encrypt: true, input: plaintext, key: key, nonce: nonce, associatedData: associatedData, tag: nil)
        guard case .success(let output) = result else { preconditionFailure("AES-256-GCM encryption failed") }
        return Sealed(nonce: nonce, ciphertextAndTag: output)
    }

    /// Decrypts and authenticates `sealed`; throws when anything about it is not genuine.
    static func open(_ sealed: Sealed, key: [UInt8], associatedData: [UInt8]) throws(AuthenticationFailure) -> [UInt8] {
        guard sealed.nonce.count == nonceBytes, sealed.ciphertextAndTag.count >= tagBytes else { throw AuthenticationFailure() }
        let tag = Array(sealed.ciphertextAndTag.suffix(tagBytes))
        let ciphertext = Array(sealed.ciphertextAndTag.dropLast(tagBytes))
        switch run(encrypt: false, input: ciphertext, key: key, nonce: sealed.nonce, associatedData: associatedData, tag: tag) {
        case .success(let plaintext): return plaintext
        case .failure: throw AuthenticationFailure()
        }
    }

    /// One EVP pass. Encrypting returns ciphertext + tag; decrypting checks `tag` and returns plaintext.
    private static func run(
        encrypt: Bool, input: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8], tag: [UInt8]?
    ) -> Result<[UInt8], AuthenticationFailure> {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let mode: Int32 = encrypt ? 1 : 0
        var ok = EVP_CipherInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil, mode) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceBytes), nil) == 1
        ok = ok && EVP_CipherInit_ex(context, nil, nil, key, nonce, mode) == 1
        var length: Int32 = 0
        if !associatedData.isEmpty {
            ok = ok && EVP_CipherUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1
        }
        var output = [UInt8](repeating: 0, count: input.count + tagBytes)
        var produced = 0
        if !input.isEmpty {
            ok = ok && output.withUnsafeMutableBufferPointer { EVP_CipherUpdate(context, $0.baseAddress, &length, input, Int32(input.count)) } == 1
            produced = Int(length)
        }
        precondition(ok, "AES-256-GCM setup failed")
        if var tag {
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagBytes), &tag) == 1 else { return .failure(AuthenticationFailure()) }
        }
        let finalOK = output.withUnsafeMutableBufferPointer { buffer in
            EVP_CipherFinal_ex(context, buffer.baseAddress! + produced, &length)
        }
        guard finalOK == 1 else { return .failure(AuthenticationFailure()) }
        produced += Int(length)
        if encrypt {
            var computed = [UInt8](repeating: 0, count: tagBytes)
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagBytes), &computed) == 1 else { preconditionFailure("GCM tag unavailable") }
            return .success(Array(output.prefix(produced)) + computed)
        }
        return .success(Array(output.prefix(produced)))
    }
}
