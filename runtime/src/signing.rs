//! Request signature v2 (docs/PROTOCOL.md §4).
//!
//! `v2.` + base64url-without-padding of HMAC-SHA256(secret, string to sign),
//! where the string to sign is
//! `METHOD\npublish_key\npath\nsorted canonical query\nbody`.

use crate::encoding;

/// Builds the sorted, canonically encoded query the signature covers.
/// `pairs` are *decoded* `(key, value)` pairs; `signature` must not be among them.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let parts: Vec<String> =
        sorted.iter().map(|(k, v)| format!("{}={}", encoding::canonical(k), encoding::canonical(v))).collect();
    parts.join("&")
}

/// Signs a request: `path` is the encoded path exactly as sent, `query` the
/// output of [`canonical_query`], `body` empty for `GET`.
pub fn sign(secret_key: &str, publish_key: &str, method: &str, path: &str, query: &str, body: &str) -> String {
    let to_sign = format!("{method}\n{publish_key}\n{path}\n{query}\n{body}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret_key.as_bytes());
    let tag = ring::hmac::sign(&key, to_sign.as_bytes());
    format!("v2.{}", base64url_no_pad(tag.as_ref()))
}

/// RFC 4648 §5 base64url, without `=` padding.
pub fn base64url_no_pad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1; // 1 byte → 2 chars, 2 → 3, 3 → 4
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (encoding::decode(k), encoding::decode(v))
            })
            .collect()
    }

    /// Vectors from docs/PROTOCOL.md §4 (re-computed there from several SDKs).
    #[test]
    fn published_vectors() {
        let cases = [
            (
                "secKey",
                "pubKey",
                "/publish/pubKey/subKey/0/my_channel/0/%22hello%21%22",
                "pnsdk=PubNub-Rust&store=1&timestamp=1679642098&ttl=10&uuid=userId",
                "v2.AHl5lMpzyT4qcvvlqaszCjTUqU6dPb10a4_XSaYCNIQ",
            ),
            (
                "mySecretKey",
                "myPublishKey",
                "/v2/auth/audit/sub-key/mySubscribeKey",
                "channel=ch1&pnsdk=PubNub-JS-Nodejs%2FsuchJavascript&timestamp=1317427200&uuid=myUUID",
                "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E",
            ),
            (
                "sec-c-MmUxNTZjMmYtNzFkNS00OAkzLWE2YjctNmQ4YzE5NWNmZDA3",
                "pub-c-03f156ea-a2e9-4c35-a733-9535824be897",
                "/v1/objects/sub-c-d7da9e59-c997-11e9-a139-dab2c75acd6f/spaces/pandu-ut-sid/users",
                "l_obj=0.4545555556&l_pam=1.145&pnsdk=PubNubCSharp4.0.34.0&requestid=19e1dee9-2f87-45d6-97e5-3f4d3f9779a2&timestamp=1568724043&uuid=mytestuuid",
                "v2.TcZdUURiXAnxJgN4OLPczxzH4MQO87l-yKfE4fyUHGc",
            ),
            (
                "mySecretKey",
                "myPublishKey",
                "/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2",
                "auth=myAuth&channel-group=cg1%2Ccg2&limit=1000&pnsdk=PubNub-Python%2F10.4.0&state=1&timestamp=1700000000&uuid=myUUID",
                "v2.xEK_XMGO9mfBpnmCiMR6r7UvI6Hx84Qmbun_TZ28Hss",
            ),
            (
                "mySecretKey",
                "myPublishKey",
                "/v2/presence/sub-key/mySubscribeKey/channel/ch1/heartbeat",
                "heartbeat=300&pnsdk=PubNub-Python%2F10.4.0&state=%7B%22ch1%22%3A%7B%22age%22%3A20%7D%7D&timestamp=1700000000&uuid=my%20UUID",
                "v2.LCcxJpZi0U2M-Lggw_gppx3_YT2GpnlB_krgpY4S4XA",
            ),
        ];
        for (secret, publish, path, query, expected) in cases {
            let canonical = canonical_query(&pairs(query));
            assert_eq!(canonical, query, "canonical form of {query}");
            assert_eq!(sign(secret, publish, "GET", path, &canonical, ""), expected, "{path}");
        }
    }

    #[test]
    fn query_is_sorted_by_key() {
        let p = vec![("uuid".to_owned(), "u".to_owned()), ("auth".to_owned(), "a b".to_owned())];
        assert_eq!(canonical_query(&p), "auth=a%20b&uuid=u");
    }

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        for (input, expected) in
            [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE")]
        {
            assert_eq!(base64url_no_pad(input.as_bytes()), expected);
        }
        assert_eq!(base64url_no_pad(&[0xfb, 0xff]), "-_8");
    }
}
