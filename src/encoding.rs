//! Base64 as the APIs we talk to use it (etcd's JSON gateway, Consul's KV,
//! hashed known_hosts entries, remote command payloads).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Standard base64 (RFC 4648) with padding.
pub fn b64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decode standard or URL-safe base64, padding optional; `None` when it is
/// not base64.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_and_leniency() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64_encode(plain.as_bytes()), enc);
            assert_eq!(b64_decode(enc).unwrap(), plain.as_bytes());
            assert_eq!(
                b64_decode(enc.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(
            b64_encode(b"/pg/pg-test/leader"),
            "L3BnL3BnLXRlc3QvbGVhZGVy"
        );
        assert_eq!(b64_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64_decode("not base64!"), None);
    }
}
