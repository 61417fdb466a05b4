//! The emulator's RS256 key: signs access tokens and verifies them as a node would.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::rand_core::OsRng;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};

/// The JOSE header of every token: `{"alg":"RS256","typ":"JWT"}`.
const HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

pub(crate) struct TokenSigner {
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    public_key_base64: String,
}

/// One 2048-bit key per process, made on first use (key generation takes a moment).
pub(crate) fn signer() -> &'static TokenSigner {
    static SIGNER: OnceLock<TokenSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let key = RsaPrivateKey::new(&mut OsRng, 2048).expect("generate an RSA-2048 test key");
        let public = key.to_public_key();
        let der = public
            .to_public_key_der()
            .expect("encode the test key's SubjectPublicKeyInfo");
        TokenSigner {
            signing: SigningKey::<Sha256>::new(key),
            verifying: VerifyingKey::<Sha256>::new(public),
            public_key_base64: STANDARD.encode(der.as_bytes()),
        }
    })
}

/// Why a presented token is not acceptable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Not a well-formed RS256 JWT with a good signature (node error 622).
    Token,
    /// Signed, but the claims are not a JSON object (node error 620).
    Claims,
}

impl TokenSigner {
    /// A compact RS256 JWS over `claims`.
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The claims of `token` if its signature is this key's and its header says RS256.
    pub(crate) fn verify(
        &self,
        token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Invalid> {
        let (input, signature) = token.rsplit_once('.').ok_or(Invalid::Token)?;
        let (header, payload) = input.split_once('.').ok_or(Invalid::Token)?;
        if payload.contains('.') {
            return Err(Invalid::Token);
        }
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(Invalid::Token)?;
        if header.get("alg").and_then(serde_json::Value::as_str) != Some("RS256") {
            return Err(Invalid::Token);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
            .ok_or(Invalid::Token)?;
        self.verifying
            .verify(input.as_bytes(), &signature)
            .map_err(|_| Invalid::Token)?;
        let claims: serde_json::Value = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(Invalid::Claims)?;
        match claims {
            serde_json::Value::Object(map) => Ok(map),
            _ => Err(Invalid::Claims),
        }
    }

    /// The public key as a node's `public-key` setting wants it: Base64 X.509
    /// SubjectPublicKeyInfo.
    pub(crate) fn public_key_base64(&self) -> &str {
        &self.public_key_base64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering() {
        let signer = signer();
        let token = signer.sign(&serde_json::json!({"sub": "u", "exp": 1}));
        assert!(token.starts_with("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."));
        let claims = signer.verify(&token).unwrap();
        assert_eq!(claims["sub"], "u");
        let forged = signer.sign(&serde_json::json!({"sub": "v", "exp": 1}));
        let mixed = format!(
            "{}.{}",
            forged.rsplit_once('.').unwrap().0,
            token.rsplit_once('.').unwrap().1
        );
        assert_eq!(signer.verify(&mixed), Err(Invalid::Token));
        assert_eq!(signer.verify("a.b"), Err(Invalid::Token));
        assert!(!signer.public_key_base64().is_empty());
    }
}
