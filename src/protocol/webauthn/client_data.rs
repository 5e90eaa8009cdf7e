//! `clientDataJSON` (§5.8.1): what the browser says the ceremony was: its
//! type, the challenge it answered and the origin it ran on.

use super::{Expected, WebAuthnError};
use crate::protocol::encoding::{b64url, ct_eq};
use serde_json::Value;

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
/// iframe that is not same-origin with its ancestors"). Members we do not
/// read are ignored (§5.8.1: more may be added); a repeated member counts
/// with its last value, as the spec's "JSON parse" (ECMAScript's) has it.
pub fn check_client_data(json: &[u8], ceremony: Ceremony, expected: &Expected) -> Result<(), WebAuthnError> {
    let malformed = WebAuthnError::Malformed("clientDataJSON");
    let c: Value = serde_json::from_slice(json).map_err(|_| malformed)?;
    let text = |name| c.get(name).and_then(Value::as_str).ok_or(malformed);
    if text("type")? != ceremony.type_name() {
        return Err(WebAuthnError::CeremonyType);
    }
    // The challenge is a secret of the pending request until it is used.
    if !ct_eq(text("challenge")?.as_bytes(), b64url(&expected.challenge).as_bytes()) {
        return Err(WebAuthnError::Challenge);
    }
    if text("origin")? != expected.origin {
        return Err(WebAuthnError::Origin);
    }
    match (c.get("crossOrigin"), c.get("topOrigin")) {
        (None | Some(Value::Null | Value::Bool(false)), None | Some(Value::Null)) => Ok(()),
        (Some(Value::Bool(true)), _) | (_, Some(Value::String(_))) => Err(WebAuthnError::CrossOrigin),
        _ => Err(malformed),
    }
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
        let malformed = Err(WebAuthnError::Malformed("clientDataJSON"));
        for (member, bad) in [
            ("crossOrigin", json!("yes")),
            ("crossOrigin", json!(1)),
            ("origin", json!(1)),
            ("topOrigin", json!(7)),
        ] {
            assert_eq!(with(member, bad), malformed, "{member}");
        }
        let text = ok.to_string();
        for bad in [&b"[]"[..], b"", b"\xff", &text.as_bytes()[1..]] {
            assert_eq!(check_client_data(bad, Ceremony::Get, &expected()), malformed);
        }
        // A repeated member counts with its last value.
        let repeated = text.replacen('{', r#"{"type":"webauthn.create","#, 1);
        assert_eq!(
            check_client_data(repeated.as_bytes(), Ceremony::Get, &expected()),
            Ok(())
        );
    }
}
