//! The EC P-384 JWKs of this API, validated precisely.
//!
//! - [`MerchantKey`]: the merchant's *authorization key*, a private JWK (`d`, `x`, `y`). It
//!   decrypts the authorize answer and every `{"jwe": …}` answer.
//! - [`PublicKey`]: the bank's *payment key* (card fields are encrypted to it) and the session's
//!   `serverPublic` (whole request bodies on the legacy H2H endpoints are encrypted to it).
//!
//! Every check says which field is wrong and how: missing, not a string, not base64url, not
//! 64 characters / 48 bytes, not a point on P-384, `d` not a valid scalar, `d` not matching
//! `x`/`y`. All problems are reported together. When `d` is valid but the public part is
//! damaged, the error carries the public key that `d` determines, so the key can be repaired.
//! No message ever contains `d`.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::ECDH_ES_A256KW;
use josekit::jwe::alg::ecdh_es::{EcdhEsJweDecrypter, EcdhEsJweEncrypter};
use josekit::jwk::Jwk;
use p384::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// The only key-management algorithm this API uses: `ECDH-ES+A256KW`.
pub const KEY_ALG: &str = "ECDH-ES+A256KW";
/// The only content encryption this API uses: `A256GCM`.
pub const CONTENT_ENC: &str = "A256GCM";
/// The misprint of [`KEY_ALG`] in the bank's documentation (payment key example).
pub const DOCUMENTED_ALG_TYPO: &str = "ECDH-ES+A25KW";

/// Bytes in a P-384 coordinate or private scalar.
pub const P384_BYTES: usize = 48;
/// Base64url characters (no padding) for [`P384_BYTES`] bytes.
pub const P384_CHARS: usize = 64;

/// Which key of the API a JWK is meant to be; every error message starts with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// The merchant's private authorization key.
    Authorization,
    /// The bank's public payment key.
    Payment,
    /// The per-session `serverPublic` key from the authorize answer.
    ServerPublic,
    /// A public key given for encryption without a more specific role (`propusk alliance encrypt`).
    Public,
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Authorization => "authorization key",
            Self::Payment => "payment key",
            Self::ServerPublic => "session key `serverPublic`",
            Self::Public => "public key",
        })
    }
}

/// One thing wrong with a JWK. Messages name the field; none contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The text is not JSON (position given, content never shown).
    NotJson {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
    },
    /// The JSON is not an object.
    NotObject,
    /// A required field is absent.
    Missing {
        /// The JWK field.
        field: &'static str,
    },
    /// A field is present but not a JSON string.
    NotString {
        /// The JWK field.
        field: &'static str,
    },
    /// `kty`, `crv` or `use` has a value this API does not use.
    WrongValue {
        /// The JWK field.
        field: &'static str,
        /// What the key says (a short, printable excerpt).
        found: String,
        /// What this API requires.
        expected: &'static str,
    },
    /// `alg` is the bank documentation's misprint `ECDH-ES+A25KW`.
    AlgTypo,
    /// `alg` names another algorithm.
    WrongAlg {
        /// What the key says (a short, printable excerpt).
        found: String,
    },
    /// A value holds characters outside base64url, or padding.
    NotBase64url {
        /// The JWK field.
        field: &'static str,
        /// What is wrong, e.g. "character 12 is not base64url".
        detail: String,
    },
    /// A coordinate or `d` is not 64 base64url characters (48 bytes).
    WrongLength {
        /// The JWK field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
    },
    /// `x` and `y` are well formed but not a point on P-384.
    NotOnCurve,
    /// `d` is zero or not below the group order.
    InvalidScalar,
    /// `d` is a valid scalar but its public point is not (`x`, `y`).
    Mismatch,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson { line, column } => write!(
                f,
                "not valid JSON (syntax error at line {line}, column {column}); a JWK is a JSON object"
            ),
            Self::NotObject => f.write_str("not a JSON object; a JWK is a JSON object"),
            Self::Missing { field } => write!(f, "field `{field}` is missing"),
            Self::NotString { field } => write!(f, "field `{field}` is not a string"),
            Self::WrongValue {
                field,
                found,
                expected,
            } => write!(f, "field `{field}` is \"{found}\"; this API requires \"{expected}\""),
            Self::AlgTypo => write!(
                f,
                "field `alg` is \"{DOCUMENTED_ALG_TYPO}\", a misprint copied from the bank's documentation; \
                 change it to \"{KEY_ALG}\" (or remove `alg`: {KEY_ALG} is assumed)"
            ),
            Self::WrongAlg { found } => write!(
                f,
                "field `alg` is \"{found}\"; this API uses only \"{KEY_ALG}\" (remove `alg` to assume it)"
            ),
            Self::NotBase64url { field, detail } => {
                write!(f, "field `{field}` is not base64url: {detail}")
            }
            Self::WrongLength { field, chars } => {
                let bytes = if chars % 4 == 1 {
                    "not a whole number of bytes".to_owned()
                } else {
                    format!("{} bytes", chars * 3 / 4)
                };
                write!(
                    f,
                    "field `{field}` is {chars} base64url chars ({bytes}); P-384 requires {P384_CHARS} chars ({P384_BYTES} bytes)"
                )?;
                if *chars < P384_CHARS && *chars > 0 {
                    f.write_str(" — the value looks truncated")?;
                }
                Ok(())
            }
            Self::NotOnCurve => {
                f.write_str("(`x`, `y`) is not a point on the P-384 curve; the public part is damaged")
            }
            Self::InvalidScalar => f.write_str(
                "field `d` is not a valid P-384 private scalar (zero, or not below the group order)",
            ),
            Self::Mismatch => {
                f.write_str("field `d` does not match `x`/`y`: they belong to different keys")
            }
        }
    }
}

/// A JWK that cannot be used, with every problem found and, when `d` is valid, the public key
/// it determines.
#[derive(Debug, Clone)]
pub struct KeyError {
    role: KeyRole,
    problems: Vec<KeyProblem>,
    derived_public: Option<PublicKey>,
}

impl KeyError {
    fn new(role: KeyRole, problems: Vec<KeyProblem>) -> Self {
        Self {
            role,
            problems,
            derived_public: None,
        }
    }

    /// Which key it was meant to be.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// Everything wrong with it, in field order.
    pub fn problems(&self) -> &[KeyProblem] {
        &self.problems
    }

    /// When `d` is valid but the public part is damaged, missing or does not match: the public
    /// key `d` determines. Its [`PublicKey::to_jwk_json`] is the repaired public JWK.
    pub fn derived_public(&self) -> Option<&PublicKey> {
        self.derived_public.as_ref()
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.role)?;
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        if let Some(public) = &self.derived_public {
            write!(
                f,
                ". The private scalar `d` is valid, so only the public part is damaged; the public key it determines is x = \"{}\", y = \"{}\": put these in the key",
                public.x(),
                public.y()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for KeyError {}

/// A validated P-384 public key: the bank's payment key, a session's `serverPublic`, or the
/// public half of a [`MerchantKey`]. Encrypts with ECDH-ES+A256KW / A256GCM ([`crate::jwe`]).
#[derive(Clone)]
pub struct PublicKey {
    x: String,
    y: String,
    encrypter: Arc<EcdhEsJweEncrypter>,
}

impl PublicKey {
    /// Parses and validates a public JWK meant as `role`. A `d`, if present, is checked too
    /// (and must match) but not kept.
    pub fn from_jwk(role: KeyRole, jwk: &str) -> Result<Self, KeyError> {
        let object = parse_object(role, jwk)?;
        Ok(validate(role, &object, false)?.public)
    }

    /// Like [`from_jwk`](Self::from_jwk) for an already parsed JSON value.
    pub fn from_jwk_value(role: KeyRole, jwk: &Value) -> Result<Self, KeyError> {
        let Value::Object(object) = jwk else {
            return Err(KeyError::new(role, vec![KeyProblem::NotObject]));
        };
        Ok(validate(role, object, false)?.public)
    }

    /// The bank's payment key from its JWK text.
    pub fn payment_key(jwk: &str) -> Result<Self, KeyError> {
        Self::from_jwk(KeyRole::Payment, jwk)
    }

    fn from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, String> {
        let x = URL_SAFE_NO_PAD.encode(x);
        let y = URL_SAFE_NO_PAD.encode(y);
        let jwk = public_jwk_map(&x, &y);
        let jwk = Jwk::from_map(jwk).map_err(|error| format!("JWK rejected: {error}"))?;
        let encrypter = ECDH_ES_A256KW
            .encrypter_from_jwk(&jwk)
            .map_err(|error| format!("OpenSSL refused the key: {error}"))?;
        Ok(Self {
            x,
            y,
            encrypter: Arc::new(encrypter),
        })
    }

    /// The `x` coordinate, base64url (64 characters).
    pub fn x(&self) -> &str {
        &self.x
    }

    /// The `y` coordinate, base64url (64 characters).
    pub fn y(&self) -> &str {
        &self.y
    }

    /// The public JWK: `{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW","x":…,"y":…}`.
    pub fn to_jwk_json(&self) -> String {
        Value::Object(public_jwk_map(&self.x, &self.y)).to_string()
    }

    pub(crate) fn encrypter(&self) -> &EcdhEsJweEncrypter {
        &self.encrypter
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.x == other.x && self.y == other.y
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("crv", &"P-384")
            .field("x", &self.x)
            .field("y", &self.y)
            .finish()
    }
}

/// The merchant's authorization key: a validated EC P-384 private JWK.
///
/// `Debug` shows the public part only; `d` is kept as a secret and appears in no message.
#[derive(Clone)]
pub struct MerchantKey {
    public: PublicKey,
    d: SecretString,
    decrypter: Arc<EcdhEsJweDecrypter>,
}

impl MerchantKey {
    /// Parses and validates the authorization key's JWK text (`kty` EC, `crv` P-384, `d`, `x`,
    /// `y`; `use` enc and `alg` ECDH-ES+A256KW when present).
    pub fn from_jwk(jwk: &str) -> Result<Self, KeyError> {
        let object = parse_object(KeyRole::Authorization, jwk)?;
        let valid = validate(KeyRole::Authorization, &object, true)?;
        let Some(d) = valid.d else {
            // validate() with `require_private` never returns without `d`.
            return Err(KeyError::new(
                KeyRole::Authorization,
                vec![KeyProblem::Missing { field: "d" }],
            ));
        };
        let mut map = public_jwk_map(valid.public.x(), valid.public.y());
        map.insert("d".into(), Value::String(d.expose_secret().to_owned()));
        let decrypter = Jwk::from_map(map)
            .and_then(|jwk| ECDH_ES_A256KW.decrypter_from_jwk(&jwk))
            .map_err(|_| {
                // p384 accepted `d`; OpenSSL (josekit) did not. Not seen in practice.
                KeyError::new(KeyRole::Authorization, vec![KeyProblem::InvalidScalar])
            })?;
        Ok(Self {
            public: valid.public,
            d,
            decrypter: Arc::new(decrypter),
        })
    }

    /// The public half: what the bank must hold to encrypt to this merchant.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn decrypter(&self) -> &EcdhEsJweDecrypter {
        &self.decrypter
    }

    /// The private scalar, base64url. For the emulator and tests; keep it secret.
    pub fn d(&self) -> &SecretString {
        &self.d
    }
}

impl fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantKey")
            .field("public", &self.public)
            .field("d", &"[REDACTED]")
            .finish()
    }
}

fn public_jwk_map(x: &str, y: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("kty".into(), "EC".into());
    map.insert("crv".into(), "P-384".into());
    map.insert("use".into(), "enc".into());
    map.insert("alg".into(), KEY_ALG.into());
    map.insert("x".into(), x.into());
    map.insert("y".into(), y.into());
    map
}

fn parse_object(role: KeyRole, text: &str) -> Result<Map<String, Value>, KeyError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(KeyError::new(role, vec![KeyProblem::NotObject])),
        Err(error) => Err(KeyError::new(
            role,
            vec![KeyProblem::NotJson {
                line: error.line(),
                column: error.column(),
            }],
        )),
    }
}

struct Validated {
    public: PublicKey,
    d: Option<SecretString>,
}

/// A printable, short excerpt of a non-secret field value (`kty`, `crv`, `use`, `alg`).
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(40)
        .collect();
    if value.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
    problems: &mut Vec<KeyProblem>,
) -> Option<&'a str> {
    match object.get(field) {
        None => {
            problems.push(KeyProblem::Missing { field });
            None
        }
        Some(Value::String(value)) => Some(value),
        Some(_) => {
            problems.push(KeyProblem::NotString { field });
            None
        }
    }
}

/// Checks one base64url field of 48 bytes: alphabet first (a strict decoder would only say
/// "invalid last symbol"), then the length in characters, then decodes.
fn coordinate(
    object: &Map<String, Value>,
    field: &'static str,
    problems: &mut Vec<KeyProblem>,
) -> Option<[u8; P384_BYTES]> {
    let value = string_field(object, field, problems)?;
    if let Some(detail) = base64url_alphabet_problem(value) {
        problems.push(KeyProblem::NotBase64url { field, detail });
        return None;
    }
    let chars = value.chars().count();
    if chars != P384_CHARS {
        problems.push(KeyProblem::WrongLength { field, chars });
        return None;
    }
    match URL_SAFE_NO_PAD.decode(value) {
        Ok(bytes) => bytes.try_into().ok(),
        Err(_) => {
            problems.push(KeyProblem::NotBase64url {
                field,
                detail: "it does not decode".to_owned(),
            });
            None
        }
    }
}

fn base64url_alphabet_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if value.trim_end_matches('=').len() != value.len() {
        return Some("it ends in `=` padding, which JWK values never carry; remove it".to_owned());
    }
    if value.contains(['+', '/']) {
        return Some(
            "it holds `+` or `/`, so it is standard base64; JWK needs base64url (`-` for `+`, `_` for `/`)"
                .to_owned(),
        );
    }
    value
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(|index| {
            format!(
                "character {} is outside the base64url alphabet (A–Z a–z 0–9 - _)",
                index + 1
            )
        })
}

fn validate(
    role: KeyRole,
    object: &Map<String, Value>,
    require_private: bool,
) -> Result<Validated, KeyError> {
    let mut problems = Vec::new();

    if let Some(kty) = string_field(object, "kty", &mut problems)
        && kty != "EC"
    {
        problems.push(KeyProblem::WrongValue {
            field: "kty",
            found: shown(kty),
            expected: "EC",
        });
    }
    if let Some(crv) = string_field(object, "crv", &mut problems)
        && crv != "P-384"
    {
        problems.push(KeyProblem::WrongValue {
            field: "crv",
            found: shown(crv),
            expected: "P-384",
        });
    }
    match object.get("use") {
        None => {}
        Some(Value::String(key_use)) if key_use == "enc" => {}
        Some(Value::String(key_use)) => problems.push(KeyProblem::WrongValue {
            field: "use",
            found: shown(key_use),
            expected: "enc",
        }),
        Some(_) => problems.push(KeyProblem::NotString { field: "use" }),
    }
    match object.get("alg") {
        None => {}
        Some(Value::String(alg)) if alg == KEY_ALG => {}
        Some(Value::String(alg)) if alg == DOCUMENTED_ALG_TYPO => {
            problems.push(KeyProblem::AlgTypo)
        }
        Some(Value::String(alg)) => problems.push(KeyProblem::WrongAlg { found: shown(alg) }),
        Some(_) => problems.push(KeyProblem::NotString { field: "alg" }),
    }

    let mut public_problems = Vec::new();
    let x = coordinate(object, "x", &mut public_problems);
    let y = coordinate(object, "y", &mut public_problems);
    let point = match (x, y) {
        (Some(x), Some(y)) => {
            let encoded = p384::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let point: Option<p384::AffinePoint> =
                p384::AffinePoint::from_encoded_point(&encoded).into();
            if point.is_none() {
                public_problems.push(KeyProblem::NotOnCurve);
            }
            point.map(|_| (x, y))
        }
        _ => None,
    };

    let mut derived = None;
    let mut d_text = None;
    if require_private || object.contains_key("d") {
        let mut d_problems = Vec::new();
        if let Some(d) = coordinate(object, "d", &mut d_problems) {
            match p384::SecretKey::from_bytes(&d.into()) {
                Ok(secret) => {
                    let encoded = secret.public_key().to_encoded_point(false);
                    if let (Some(dx), Some(dy)) = (encoded.x(), encoded.y()) {
                        derived =
                            Some((<[u8; P384_BYTES]>::from(*dx), <[u8; P384_BYTES]>::from(*dy)));
                    }
                    if let Some(Value::String(text)) = object.get("d") {
                        d_text = Some(SecretString::from(text.as_str()));
                    }
                }
                Err(_) => d_problems.push(KeyProblem::InvalidScalar),
            }
        }
        if let (Some(point), Some(derived)) = (&point, &derived)
            && point != derived
        {
            public_problems.push(KeyProblem::Mismatch);
        }
        public_problems.extend(d_problems);
    }
    problems.extend(public_problems);

    let damaged_public = point.is_none() || problems.contains(&KeyProblem::Mismatch);
    if !problems.is_empty() {
        let mut error = KeyError::new(role, problems);
        if damaged_public && let Some((dx, dy)) = derived {
            error.derived_public = PublicKey::from_coordinates(&dx, &dy).ok();
        }
        return Err(error);
    }
    let Some((x, y)) = point else {
        return Err(KeyError::new(role, vec![KeyProblem::NotOnCurve]));
    };
    let public = PublicKey::from_coordinates(&x, &y).map_err(|detail| {
        KeyError::new(role, vec![KeyProblem::NotBase64url { field: "x", detail }])
    })?;
    Ok(Validated { public, d: d_text })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's "authorization key", exactly as printed (x and y each lack one character).
    pub(crate) const SEED_AUTHORIZATION_KEY: &str = r#"{
    "kty": "EC",
    "d": "QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
    "use": "enc",
    "crv": "P-384",
    "x": "lxF9kVkpdTRqd256CO0Q3fOEAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
    "y": "3aQaGq0Va9OshPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD",
    "alg": "ECDH-ES+A256KW"
}"#;

    /// The seed's "payment key", exactly as printed (y lacks one character; alg misprinted).
    const SEED_PAYMENT_KEY: &str = r#"{
    "kty": "EC",
    "use": "enc",
    "crv": "P-384",
    "x": "lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
    "y": "3aQaGq0Va9OsGhPr3jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD",
    "alg": "ECDH-ES+A25KW"
}"#;

    /// The repaired test key from the protocol sheet §2.1.
    const REPAIRED: &str = r#"{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW",
 "d":"QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
 "x":"lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
 "y":"3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD"}"#;

    const SHEET_X: &str = "lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC";
    const SHEET_Y: &str = "3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD";
    const SEED_D: &str = "QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd";

    fn with(base: &str, field: &str, value: Value) -> String {
        let mut object: Map<String, Value> = serde_json::from_str(base).unwrap();
        object.insert(field.to_owned(), value);
        Value::Object(object).to_string()
    }

    fn without(base: &str, field: &str) -> String {
        let mut object: Map<String, Value> = serde_json::from_str(base).unwrap();
        object.remove(field);
        Value::Object(object).to_string()
    }

    #[test]
    fn seed_authorization_key_names_both_truncated_coordinates_and_offers_the_derived_key() {
        let error = MerchantKey::from_jwk(SEED_AUTHORIZATION_KEY).unwrap_err();
        assert_eq!(
            error.problems(),
            [
                KeyProblem::WrongLength {
                    field: "x",
                    chars: 63
                },
                KeyProblem::WrongLength {
                    field: "y",
                    chars: 63
                },
            ]
        );
        let message = error.to_string();
        assert!(
            message.starts_with(
                "authorization key: field `x` is 63 base64url chars (47 bytes); P-384 requires 64 chars (48 bytes)"
            ),
            "{message}"
        );
        assert!(
            message.contains(
                "field `y` is 63 base64url chars (47 bytes); P-384 requires 64 chars (48 bytes)"
            ),
            "{message}"
        );
        let derived = error
            .derived_public()
            .expect("d is valid, so the derived key is offered");
        assert_eq!(derived.x(), SHEET_X);
        assert_eq!(derived.y(), SHEET_Y);
        assert!(
            message.contains(SHEET_X) && message.contains(SHEET_Y),
            "{message}"
        );
        assert!(!message.contains(SEED_D), "d leaked: {message}");
    }

    #[test]
    fn seed_payment_key_names_the_short_y_and_the_alg_misprint() {
        let error = PublicKey::payment_key(SEED_PAYMENT_KEY).unwrap_err();
        assert_eq!(
            error.problems(),
            [
                KeyProblem::AlgTypo,
                KeyProblem::WrongLength {
                    field: "y",
                    chars: 63
                }
            ]
        );
        let message = error.to_string();
        assert!(message.starts_with("payment key: "), "{message}");
        assert!(
            message.contains(
                "field `y` is 63 base64url chars (47 bytes); P-384 requires 64 chars (48 bytes)"
            ),
            "{message}"
        );
        assert!(
            message.contains("change it to \"ECDH-ES+A256KW\""),
            "{message}"
        );
        assert!(
            error.derived_public().is_none(),
            "a public JWK has no d to derive from"
        );
    }

    #[test]
    fn seed_payment_key_with_alg_fixed_still_fails_on_y_only() {
        let fixed = with(SEED_PAYMENT_KEY, "alg", KEY_ALG.into());
        let error = PublicKey::payment_key(&fixed).unwrap_err();
        assert_eq!(
            error.problems(),
            [KeyProblem::WrongLength {
                field: "y",
                chars: 63
            }]
        );
    }

    #[test]
    fn strict_decoders_reject_the_seed_coordinates_with_a_generic_error() {
        // What the sheet warns about, and why we check the length first.
        let y = "3aQaGq0Va9OshPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD";
        assert!(URL_SAFE_NO_PAD.decode(y).is_err());
    }

    #[test]
    fn repaired_key_is_valid_and_its_public_half_is_the_sheets() {
        let key = MerchantKey::from_jwk(REPAIRED).unwrap();
        assert_eq!(key.public_key().x(), SHEET_X);
        assert_eq!(key.public_key().y(), SHEET_Y);
        let payment = PublicKey::payment_key(&without(REPAIRED, "d")).unwrap();
        assert_eq!(&payment, key.public_key());
    }

    #[test]
    fn alg_may_be_absent_but_not_another_algorithm() {
        MerchantKey::from_jwk(&without(REPAIRED, "alg")).unwrap();
        let error = MerchantKey::from_jwk(&with(REPAIRED, "alg", "ECDH-ES".into())).unwrap_err();
        assert_eq!(
            error.problems(),
            [KeyProblem::WrongAlg {
                found: "ECDH-ES".into()
            }]
        );
        assert!(
            error.to_string().contains("field `alg` is \"ECDH-ES\""),
            "{error}"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let error = MerchantKey::from_jwk(&without(REPAIRED, "d")).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::Missing { field: "d" }]);
        assert_eq!(error.to_string(), "authorization key: field `d` is missing");
        let error = MerchantKey::from_jwk(&without(REPAIRED, "y")).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::Missing { field: "y" }]);
        // d is valid, so the derived public key is offered for the missing y.
        assert_eq!(error.derived_public().unwrap().y(), SHEET_Y);
        let error = PublicKey::payment_key(&without(&without(REPAIRED, "d"), "kty")).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::Missing { field: "kty" }]);
    }

    #[test]
    fn wrong_kty_crv_use_are_named() {
        let key = with(&with(REPAIRED, "crv", "P-256".into()), "use", "sig".into());
        let error = MerchantKey::from_jwk(&key).unwrap_err();
        assert_eq!(
            error.to_string(),
            "authorization key: field `crv` is \"P-256\"; this API requires \"P-384\"; field `use` is \"sig\"; this API requires \"enc\""
        );
        let error = MerchantKey::from_jwk(&with(REPAIRED, "kty", "RSA".into())).unwrap_err();
        assert_eq!(
            error.problems(),
            [KeyProblem::WrongValue {
                field: "kty",
                found: "RSA".into(),
                expected: "EC"
            }]
        );
    }

    #[test]
    fn non_base64url_values_are_named() {
        let standard = SHEET_X.replace('-', "+");
        let error = MerchantKey::from_jwk(&with(REPAIRED, "x", standard.into())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("field `x` is not base64url: it holds `+` or `/`"),
            "{error}"
        );
        let padded = format!("{SHEET_Y}==");
        let error = MerchantKey::from_jwk(&with(REPAIRED, "y", padded.into())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("field `y` is not base64url: it ends in `=` padding"),
            "{error}"
        );
        let spaced = format!("{} {}", &SHEET_Y[..10], &SHEET_Y[11..]);
        let error = MerchantKey::from_jwk(&with(REPAIRED, "y", spaced.into())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("character 11 is outside the base64url alphabet"),
            "{error}"
        );
        let error = MerchantKey::from_jwk(&with(REPAIRED, "x", 42.into())).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::NotString { field: "x" }]);
    }

    #[test]
    fn d_of_the_wrong_length_or_alphabet_never_shows_d() {
        let short = &SEED_D[..63];
        let error = MerchantKey::from_jwk(&with(REPAIRED, "d", short.into())).unwrap_err();
        assert_eq!(
            error.problems(),
            [KeyProblem::WrongLength {
                field: "d",
                chars: 63
            }]
        );
        assert!(!error.to_string().contains(short));
        let bad = format!("{}*{}", &SEED_D[..20], &SEED_D[21..]);
        let error = MerchantKey::from_jwk(&with(REPAIRED, "d", bad.clone().into())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("field `d` is not base64url: character 21"),
            "{error}"
        );
        assert!(!error.to_string().contains(&SEED_D[..20]));
        let longer = format!("{SEED_D}A");
        let error = MerchantKey::from_jwk(&with(REPAIRED, "d", longer.into())).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("field `d` is 65 base64url chars (not a whole number of bytes)"),
            "{error}"
        );
    }

    #[test]
    fn off_curve_point_with_valid_d_offers_the_derived_key() {
        // Change the last byte of y: right length, wrong point.
        let mut y = URL_SAFE_NO_PAD.decode(SHEET_Y).unwrap();
        y[47] ^= 1;
        let key = with(REPAIRED, "y", URL_SAFE_NO_PAD.encode(&y).into());
        let error = MerchantKey::from_jwk(&key).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::NotOnCurve]);
        assert_eq!(error.derived_public().unwrap().x(), SHEET_X);
        let public = without(&key, "d");
        let error = PublicKey::payment_key(&public).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::NotOnCurve]);
        assert!(error.derived_public().is_none());
    }

    #[test]
    fn d_of_another_key_is_a_mismatch() {
        // A valid point of another key: the generator's double is as good as any.
        let mut scalar = [0u8; 48];
        scalar[47] = 2;
        let other = p384::SecretKey::from_bytes(&scalar.into())
            .unwrap()
            .public_key()
            .to_encoded_point(false);
        let key = with(
            &with(
                REPAIRED,
                "x",
                URL_SAFE_NO_PAD.encode(other.x().unwrap()).into(),
            ),
            "y",
            URL_SAFE_NO_PAD.encode(other.y().unwrap()).into(),
        );
        let error = MerchantKey::from_jwk(&key).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::Mismatch]);
        assert!(
            error
                .to_string()
                .contains("field `d` does not match `x`/`y`"),
            "{error}"
        );
        assert_eq!(error.derived_public().unwrap().y(), SHEET_Y);
    }

    #[test]
    fn zero_d_is_not_a_scalar() {
        let zero = URL_SAFE_NO_PAD.encode([0u8; 48]);
        let error = MerchantKey::from_jwk(&with(REPAIRED, "d", zero.into())).unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::InvalidScalar]);
        assert!(error.derived_public().is_none());
    }

    #[test]
    fn not_json_shows_only_the_position() {
        let error = MerchantKey::from_jwk("{\"d\": \"QVwaujXBuM1\" oops").unwrap_err();
        assert!(matches!(
            error.problems(),
            [KeyProblem::NotJson { line: 1, .. }]
        ));
        assert!(!error.to_string().contains("QVwaujXBuM1"));
        let error = MerchantKey::from_jwk("[1,2]").unwrap_err();
        assert_eq!(error.problems(), [KeyProblem::NotObject]);
    }

    #[test]
    fn debug_never_shows_d() {
        let key = MerchantKey::from_jwk(REPAIRED).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(SEED_D), "{debug}");
        assert!(debug.contains("[REDACTED]"));
    }

    #[test]
    fn public_jwk_json_round_trips() {
        let key = MerchantKey::from_jwk(REPAIRED).unwrap();
        let json = key.public_key().to_jwk_json();
        assert_eq!(
            json,
            format!(
                r#"{{"kty":"EC","crv":"P-384","use":"enc","alg":"ECDH-ES+A256KW","x":"{SHEET_X}","y":"{SHEET_Y}"}}"#
            )
        );
        assert_eq!(
            &PublicKey::from_jwk(KeyRole::Public, &json).unwrap(),
            key.public_key()
        );
    }
}
