//! Request signature verification (PubNub signature v2, docs/PROTOCOL.md §4).
//!
//! `string_to_sign = METHOD \n publish_key \n path \n canonical_query \n body`, where the
//! canonical query holds every query parameter except `signature`, sorted by key, with each
//! (percent-decoded) value re-encoded so that only `A-Z a-z 0-9 - _ .` stay literal.
//! The signature is `"v2." + base64url_nopad(HMAC-SHA256(secret_key, string_to_sign))`.
//!
//! The Rust SDK canonicalises slightly differently (sorts whole `k=v` strings and leaves
//! `~ * ( ) ' , & !`-like characters raw); that variant is accepted as well, as are the v1
//! signatures (`sub\npub\npath\nquery`, standard base64) old SDKs sent.

use ring::hmac;

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `signature` query parameter.
    MissingSignature,
    /// No `timestamp` query parameter, or it is not an integer.
    MissingTimestamp,
    /// `timestamp` is further than the tolerance from the server clock.
    StaleTimestamp,
    /// The signature does not match.
    Mismatch,
}

/// Everything needed to check one request's signature.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method, upper case (`GET`).
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub raw_path: &'a str,
    /// The query string exactly as received (without `?`), may be empty.
    pub raw_query: &'a str,
    /// The subscribe key addressed by the path (used by v1 signatures).
    pub sub_key: &'a str,
    /// The request body (empty for presence calls).
    pub body: &'a str,
}

/// Verifies `req` against `secret_key`/`publish_key` with a `tolerance_secs` window around `now_secs`.
pub fn verify(
    secret_key: &str,
    publish_key: &str,
    req: &SignedRequest<'_>,
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let params = parse_query(req.raw_query);
    let signature = params
        .iter()
        .find(|(k, _)| k == "signature")
        .map(|(_, v)| v.as_str())
        .ok_or(SignatureError::MissingSignature)?;
    let timestamp: u64 = params
        .iter()
        .find(|(k, _)| k == "timestamp")
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or(SignatureError::MissingTimestamp)?;
    if timestamp.abs_diff(now_secs) > tolerance_secs {
        return Err(SignatureError::StaleTimestamp);
    }
    let signed: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "signature").cloned().collect();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_key.as_bytes());

    if let Some(v2) = signature.strip_prefix("v2.") {
        let tag = base64_decode(v2).ok_or(SignatureError::Mismatch)?;
        for query in [canonical_query(&signed), rust_sdk_query(&signed)] {
            let to_sign = format!("{}\n{}\n{}\n{}\n{}", req.method, publish_key, req.raw_path, query, req.body);
            if hmac::verify(&key, to_sign.as_bytes(), &tag).is_ok() {
                return Ok(());
            }
        }
        Err(SignatureError::Mismatch)
    } else {
        let tag = base64_decode(signature).ok_or(SignatureError::Mismatch)?;
        let to_sign = format!("{}\n{}\n{}\n{}", req.sub_key, publish_key, req.raw_path, canonical_query(&signed));
        hmac::verify(&key, to_sign.as_bytes(), &tag).map_err(|_| SignatureError::Mismatch)
    }
}

/// Computes the v2 signature (`"v2." + base64url`) for `method`, `path` and already-sorted or
/// unsorted decoded `params` (the `signature` parameter must not be among them).
///
/// Exposed so tests and tools can sign requests for a server started with a secret key.
pub fn sign_v2(
    secret_key: &str,
    publish_key: &str,
    method: &str,
    raw_path: &str,
    params: &[(String, String)],
    body: &str,
) -> String {
    let to_sign = format!("{method}\n{publish_key}\n{raw_path}\n{}\n{body}", canonical_query(params));
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_key.as_bytes());
    let tag = hmac::sign(&key, to_sign.as_bytes());
    format!("v2.{}", base64url_nopad(tag.as_ref()))
}

/// Splits a raw query string into percent-decoded `(key, value)` pairs (`+` reads as a space).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// Percent-decodes a query component, treating `+` as a space; invalid UTF-8 is replaced lossily.
pub fn decode_component(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

/// The canonical (PAM) encoding: every byte except `A-Z a-z 0-9 - _ .` becomes `%XX` (upper-case hex).
pub fn pam_encode(s: &str) -> String {
    encode_with(s, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn rust_sdk_encode(s: &str) -> String {
    encode_with(s, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'&' | b'\'' | b'(' | b')' | b'*' | b',')
    })
}

fn encode_with(s: &str, keep: impl Fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().map(|(k, v)| format!("{}={}", pam_encode(k), pam_encode(v))).collect::<Vec<_>>().join("&")
}

fn rust_sdk_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", rust_sdk_encode(v))).collect();
    pairs.sort();
    pairs.join("&")
}

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with the URL-safe alphabet (`-`, `_`) and no `=` padding.
pub fn base64url_nopad(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            let c = match B64_STD[idx] {
                b'+' => '-',
                b'/' => '_',
                c => c as char,
            };
            out.push(c);
        }
    }
    out
}

/// Decodes standard or URL-safe base64, padded or not. `None` on any invalid character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_sorted(q: &str) -> Vec<(String, String)> {
        parse_query(q)
    }

    fn check(secret: &str, publish: &str, path: &str, query: &str, expected: &str) {
        assert_eq!(sign_v2(secret, publish, "GET", path, &parse_sorted(query), ""), expected, "signing {path}?{query}");
        // and the verifier accepts it with the signature appended
        let ts: u64 =
            parse_query(query).iter().find(|(k, _)| k == "timestamp").map(|(_, v)| v.parse().unwrap()).unwrap();
        let full = format!("{query}&signature={expected}");
        let req = SignedRequest { method: "GET", raw_path: path, raw_query: &full, sub_key: "", body: "" };
        assert_eq!(verify(secret, publish, &req, ts, 60), Ok(()));
        assert_eq!(verify(secret, publish, &req, ts + 61, 60), Err(SignatureError::StaleTimestamp));
        assert_eq!(verify("other", publish, &req, ts, 60), Err(SignatureError::Mismatch));
    }

    #[test]
    fn protocol_vector_rust_publish() {
        check(
            "secKey",
            "pubKey",
            "/publish/pubKey/subKey/0/my_channel/0/%22hello%21%22",
            "pnsdk=PubNub-Rust&store=1&timestamp=1679642098&ttl=10&uuid=userId",
            "v2.AHl5lMpzyT4qcvvlqaszCjTUqU6dPb10a4_XSaYCNIQ",
        );
    }

    #[test]
    fn protocol_vector_js_audit() {
        check(
            "mySecretKey",
            "myPublishKey",
            "/v2/auth/audit/sub-key/mySubscribeKey",
            "channel=ch1&pnsdk=PubNub-JS-Nodejs%2FsuchJavascript&timestamp=1317427200&uuid=myUUID",
            "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E",
        );
    }

    #[test]
    fn protocol_vector_go() {
        check(
            "sec-c-MmUxNTZjMmYtNzFkNS00OAkzLWE2YjctNmQ4YzE5NWNmZDA3",
            "pub-c-03f156ea-a2e9-4c35-a733-9535824be897",
            "/v1/objects/sub-c-d7da9e59-c997-11e9-a139-dab2c75acd6f/spaces/pandu-ut-sid/users",
            "l_obj=0.4545555556&l_pam=1.145&pnsdk=PubNubCSharp4.0.34.0&requestid=19e1dee9-2f87-45d6-97e5-3f4d3f9779a2&timestamp=1568724043&uuid=mytestuuid",
            "v2.TcZdUURiXAnxJgN4OLPczxzH4MQO87l-yKfE4fyUHGc",
        );
    }

    #[test]
    fn protocol_presence_examples() {
        check(
            "mySecretKey",
            "myPublishKey",
            "/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2",
            "auth=myAuth&channel-group=cg1%2Ccg2&limit=1000&pnsdk=PubNub-Python%2F10.4.0&state=1&timestamp=1700000000&uuid=myUUID",
            "v2.xEK_XMGO9mfBpnmCiMR6r7UvI6Hx84Qmbun_TZ28Hss",
        );
        check(
            "mySecretKey",
            "myPublishKey",
            "/v2/presence/sub-key/mySubscribeKey/channel/ch1/heartbeat",
            "heartbeat=300&pnsdk=PubNub-Python%2F10.4.0&state=%7B%22ch1%22%3A%7B%22age%22%3A20%7D%7D&timestamp=1700000000&uuid=my%20UUID",
            "v2.LCcxJpZi0U2M-Lggw_gppx3_YT2GpnlB_krgpY4S4XA",
        );
    }

    #[test]
    fn raw_commas_on_the_wire_verify_like_encoded_ones() {
        let secret = "mySecretKey";
        let path = "/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2";
        // Same parameters as the PROTOCOL example but sent with raw `,` and unordered.
        let q = "uuid=myUUID&channel-group=cg1,cg2&state=1&limit=1000&auth=myAuth&pnsdk=PubNub-Python/10.4.0&timestamp=1700000000&signature=v2.xEK_XMGO9mfBpnmCiMR6r7UvI6Hx84Qmbun_TZ28Hss";
        let req = SignedRequest { method: "GET", raw_path: path, raw_query: q, sub_key: "mySubscribeKey", body: "" };
        assert_eq!(verify(secret, "myPublishKey", &req, 1_700_000_030, 60), Ok(()));
    }

    #[test]
    fn missing_parts_are_reported() {
        let mut req =
            SignedRequest { method: "GET", raw_path: "/x", raw_query: "uuid=a&timestamp=5", sub_key: "s", body: "" };
        assert_eq!(verify("k", "p", &req, 5, 60), Err(SignatureError::MissingSignature));
        req.raw_query = "uuid=a&signature=v2.AAAA";
        assert_eq!(verify("k", "p", &req, 5, 60), Err(SignatureError::MissingTimestamp));
        req.raw_query = "uuid=a&timestamp=5&signature=v2.!!";
        assert_eq!(verify("k", "p", &req, 5, 60), Err(SignatureError::Mismatch));
    }

    #[test]
    fn base64_roundtrip() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64url_nopad(&data);
            assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
            assert_eq!(base64_decode(&enc).unwrap(), data);
        }
        assert_eq!(base64url_nopad(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_nopad(b"fo"), "Zm8");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    }

    #[test]
    fn pam_encoding_matches_protocol() {
        assert_eq!(pam_encode("a b~*,/"), "a%20b%7E%2A%2C%2F");
        assert_eq!(pam_encode("A-z_0.9"), "A-z_0.9");
        assert_eq!(pam_encode("Ż"), "%C5%BB");
    }
}
