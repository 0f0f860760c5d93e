//! HS256 JSON Web Tokens, by hand: the only algorithm Supabase's JWT secret uses, so a JWT crate
//! would bring more than it gives. Used for the API keys and user tokens the server accepts and for
//! its signed-URL tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused; the messages are those of node's `jsonwebtoken`, which Supabase Storage
/// puts in its error bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("jwt malformed")]
    Malformed,
    /// A header `alg` other than HS256.
    #[error("invalid algorithm")]
    Algorithm,
    /// The signature does not match the secret.
    #[error("invalid signature")]
    Signature,
    /// `exp` is in the past.
    #[error("jwt expired")]
    Expired,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; an empty key is still a key.
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable_mac(),
    }
}

#[cold]
fn unreachable_mac() -> HmacSha256 {
    // Hmac::new_from_slice is documented infallible for HMAC; keep a total function anyway.
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

/// Signs `claims` (a JSON object) with `secret`.
pub fn sign(claims: &Map<String, Value>, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = mac(secret);
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Checks `token`'s signature and expiry and returns its claims.
pub fn verify(token: &str, secret: &str) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode_json = |part: &str| -> Result<Map<String, Value>, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(JwtError::Malformed),
        }
    };
    let header_json = decode_json(header)?;
    let claims = decode_json(payload)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    if header_json.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let mut mac = mac(secret);
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_f64().ok_or(JwtError::Malformed)?;
        if exp <= now() as f64 {
            return Err(JwtError::Expired);
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let c = claims(json!({"role": "service_role", "exp": now() + 60}));
        let token = sign(&c, "secret");
        assert_eq!(verify(&token, "secret").unwrap(), c);
        assert_eq!(verify(&token, "other"), Err(JwtError::Signature));
        assert_eq!(verify("a.b", "secret"), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c", "secret"), Err(JwtError::Malformed));
        let expired = sign(&claims(json!({"exp": now() - 1})), "secret");
        assert_eq!(verify(&expired, "secret"), Err(JwtError::Expired));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(verify(&tampered, "secret").is_err());
    }

    #[test]
    fn matches_a_known_token() {
        // jwt.io's HS256 example ("your-256-bit-secret").
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let c = verify(token, "your-256-bit-secret").unwrap();
        assert_eq!(c["name"], "John Doe");
    }
}
