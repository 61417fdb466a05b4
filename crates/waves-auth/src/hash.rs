//! The node's `api-key-hash`: what a node operator writes into the node's configuration so that
//! requests carrying `X-API-Key: <key>` are accepted.

use blake2::Blake2b;
use blake2::digest::consts::U32;
use sha3::{Digest, Keccak256};
use subtle::ConstantTimeEq;

/// BLAKE2b, unkeyed, with a 32-byte digest (WAVES `fastHash`).
type Blake2b256 = Blake2b<U32>;

/// The value a node's `api-key-hash` (or `privacy-api-key-hash`,
/// `confidential-contracts-api-key-hash`) must hold for `key` to be accepted:
/// `Base58(Keccak256(Blake2b256(UTF-8 bytes of key)))`, the WAVES `secureHash`.
///
/// Keccak256 is the *original* Keccak (padding byte `0x01`), not FIPS-202 SHA3-256, and Base58
/// uses the Bitcoin alphabet. This holds for nodes with `crypto.type = WAVES`; GOST builds hash
/// differently.
///
/// ```
/// assert_eq!(
///     waves_auth::api_key_hash("ridethewaves!"),
///     "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu"
/// );
/// ```
pub fn api_key_hash(key: &str) -> String {
    let fast = Blake2b256::digest(key.as_bytes());
    let secure = Keccak256::digest(fast);
    bs58::encode(secure).into_string()
}

/// Whether `key` hashes to `expected_hash` (a Base58 `api-key-hash`), compared in constant time
/// the way the node compares. Surrounding whitespace in `expected_hash` is ignored.
pub fn api_key_matches(key: &str, expected_hash: &str) -> bool {
    let actual = api_key_hash(key);
    let expected = expected_hash.trim();
    actual.len() == expected.len() && bool::from(actual.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of the protocol sheet, copied literally.
    const VECTORS: [(&str, &str); 4] = [
        (
            "ridethewaves!",
            "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu",
        ),
        ("foo", "53gRrs1z87TXZgevWK3NpiNsGpvqk62EkuRdCtiFefhR"),
        ("1", "FX9aLVV4zJLjHAAuCXnTqdswEgEBSobnp2Tw7mHsDDcs"),
        (
            "some string for api-key",
            "8gmoWdqSusXRndaMtQaZKJ8LT2WbiVTPRWGhv2Z6LbU9",
        ),
    ];

    #[test]
    fn the_sheet_vectors_hash_as_the_node_does() {
        for (key, hash) in VECTORS {
            assert_eq!(api_key_hash(key), hash, "api key {key:?}");
            assert!(api_key_matches(key, hash));
        }
    }

    #[test]
    fn sha3_256_instead_of_keccak_gives_the_wrong_answer_of_the_sheet() {
        // The sheet's negative vector: SHA3-256 in place of Keccak256.
        let wrong = bs58::encode(sha3::Sha3_256::digest(Blake2b256::digest(b"ridethewaves!")))
            .into_string();
        assert_eq!(wrong, "5472Jhj98gEgZwj6FnniVSL2UWY2VW7tVXhuDieNo21G");
        assert_ne!(api_key_hash("ridethewaves!"), wrong);
        assert!(!api_key_matches("ridethewaves!", &wrong));
    }

    #[test]
    fn keccak256_is_the_original_keccak() {
        let empty: String = Keccak256::digest(b"")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            empty,
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn matching_rejects_other_keys_and_garbage() {
        let hash = "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu";
        assert!(api_key_matches("ridethewaves!", &format!(" {hash}\n")));
        assert!(!api_key_matches("ridethewaves", hash));
        assert!(!api_key_matches("ridethewaves!", ""));
        assert!(!api_key_matches("ridethewaves!", "not base58 at all"));
    }
}
