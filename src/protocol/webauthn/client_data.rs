//! `clientDataJSON` (§5.8.1): what the browser says the ceremony was: its
//! type, the challenge it answered and the origin it ran on.

use super::{Expected, WebAuthnError};
use crate::protocol::encoding::{b64url, ct_eq};
use serde::Deserialize;

/// §5.8.1 `CollectedClientData`. Members we do not read are ignored (the
/// spec allows more to be added); a member repeated is malformed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CollectedClientData {
    #[serde(rename = "type")]
    typ: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: Option<bool>,
    #[serde(default)]
    top_origin: Option<String>,
}

/// The ceremony `clientDataJSON` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Create,
    Get,
}

impl Ceremony {
    fn type_name(self) -> &'static str {
        match self {
            Self::Create => "webauthn.create",
            Self::Get => "webauthn.get",
        }
    }
}

/// §7.1 steps 7–12 / §7.2 steps 9–14: "Verify that the value of C.type is
/// webauthn.create" (or `webauthn.get`), "that the value of C.challenge
/// equals the base64url encoding of options.challenge", "that the value of
/// C.origin is an origin expected by the Relying Party"; and, since our
/// pages are never framed by another site, that C.crossOrigin is not true
/// and C.topOrigin absent ("If C.topOrigin is present: Verify that the
/// Relying Party expects this credential to have been created within an
/// iframe that is not same-origin with its ancestors").
pub fn check_client_data(json: &[u8], ceremony: Ceremony, expected: &Expected) -> Result<(), WebAuthnError> {
    let c: CollectedClientData =
        serde_json::from_slice(json).map_err(|_| WebAuthnError::Malformed("clientDataJSON"))?;
    if c.typ != ceremony.type_name() {
        return Err(WebAuthnError::CeremonyType);
    }
    // The challenge is a secret of the pending request until it is used.
    if !ct_eq(c.challenge.as_bytes(), b64url(&expected.challenge).as_bytes()) {
        return Err(WebAuthnError::Challenge);
    }
    if c.origin != expected.origin {
        return Err(WebAuthnError::Origin);
    }
    if c.cross_origin == Some(true) || c.top_origin.is_some() {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected() -> Expected {
        Expected {
            rp_id: "id.example".into(),
            origin: "https://id.example".into(),
            challenge: [7; 32],
        }
    }

    fn check(c: serde_json::Value, ceremony: Ceremony) -> Result<(), WebAuthnError> {
        check_client_data(c.to_string().as_bytes(), ceremony, &expected())
    }

    #[test]
    fn each_member_is_checked() {
        let challenge = b64url(&[7; 32]);
        let ok = json!({"type": "webauthn.get", "challenge": challenge, "origin": "https://id.example",
                        "crossOrigin": false, "other_keys_can_be_added_here": "x"});
        assert_eq!(check(ok.clone(), Ceremony::Get), Ok(()));
        assert_eq!(check(ok.clone(), Ceremony::Create), Err(WebAuthnError::CeremonyType));
        let with = |member: &str, value: serde_json::Value| {
            let mut c = ok.clone();
            c[member] = value;
            check(c, Ceremony::Get)
        };
        assert_eq!(with("crossOrigin", json!(null)), Ok(()));
        assert_eq!(with("type", json!("payment.get")), Err(WebAuthnError::CeremonyType));
        assert_eq!(
            with("challenge", json!(b64url(&[8; 32]))),
            Err(WebAuthnError::Challenge)
        );
        // The same bytes in standard base64 (with padding) are not the challenge.
        assert_eq!(
            with("challenge", json!(format!("{challenge}="))),
            Err(WebAuthnError::Challenge)
        );
        for origin in [
            "https://id.example/",
            "https://ID.example",
            "http://id.example",
            "https://id.example:443",
            "https://evil.example",
            "null",
        ] {
            assert_eq!(with("origin", json!(origin)), Err(WebAuthnError::Origin), "{origin}");
        }
        assert_eq!(with("crossOrigin", json!(true)), Err(WebAuthnError::CrossOrigin));
        assert_eq!(
            with("topOrigin", json!("https://framer.example")),
            Err(WebAuthnError::CrossOrigin)
        );
        for bad in [json!("yes"), json!(1)] {
            assert_eq!(
                with("crossOrigin", bad),
                Err(WebAuthnError::Malformed("clientDataJSON"))
            );
        }
        assert_eq!(
            with("origin", json!(1)),
            Err(WebAuthnError::Malformed("clientDataJSON"))
        );
        let malformed = Err(WebAuthnError::Malformed("clientDataJSON"));
        let text = ok.to_string();
        let repeated = text.replacen('{', r#"{"type":"webauthn.get","#, 1);
        for bad in [&b"[]"[..], b"", b"\xff", &text.as_bytes()[1..], repeated.as_bytes()] {
            assert_eq!(check_client_data(bad, Ceremony::Get, &expected()), malformed);
        }
    }
}
