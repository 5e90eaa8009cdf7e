//! WebAuthn (W3C Web Authentication Level 2/3) for passkeys: the relying
//! party's verification of a registration (§7.1) and of an assertion
//! (§7.2), for attestation `none`, user verification required. Every check
//! takes what it expects (RP ID, origin, challenge) from the server, never
//! from the response itself.
//!
//! A sign-in runs in this order (§7.2): [`check_assertion`] (everything
//! that needs no stored key) → the caller finds the credential by
//! `credential_id` and checks that it belongs to the user the
//! `user_handle` names → [`signature_for_webcrypto`] and a
//! [`SignatureVerifier`](crate::store::SignatureVerifier) over
//! `signed_data` → [`Assertion::check_record`] (counter, backup
//! eligibility) → the caller stores the new counter. A registration is
//! [`verify_registration`], then the caller refuses a credential id that
//! is already registered (§7.1 step 27) and stores the [`NewCredential`].

mod assertion;
mod authenticator_data;
mod cbor;
mod client_data;
mod cose;
mod registration;

#[cfg(test)]
mod tests;

pub use assertion::{backup_eligibility_ok, check_assertion, counter_ok, signature_for_webcrypto, Assertion};
pub(crate) use cose::rsa_jwk;
pub use cose::{PublicKey, COSE_ALGORITHMS};
pub use registration::{verify_registration, NewCredential};

use super::cors::origin_of;
use super::encoding::{b64url_decode, sha256};
use super::error::{ErrorCode, OAuthError};
use serde_json::Value;
use url::{Host, Url};

/// Separates our challenges from every other SHA-256 of a form id.
const CHALLENGE_LABEL: &[u8] = b"edge-oidc webauthn challenge v1\0";

/// The challenge of the ceremony run from the sealed form `form_id`
/// (§13.4.3: "challenges MUST contain at least 16 bytes" and be unguessable).
/// A form id is random and single-use, so its challenge is too, and it is
/// bound to the pending request the form belongs to: no challenge is stored.
pub fn challenge_for(form_id: &str) -> [u8; 32] {
    sha256(&[CHALLENGE_LABEL, form_id.as_bytes()].concat())
}

/// What the server expects of a ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The RP ID: the issuer's host.
    pub rp_id: String,
    /// The issuer's origin, `scheme://host[:port]`, as browsers write it in
    /// `clientDataJSON`.
    pub origin: String,
    pub challenge: [u8; 32],
}

impl Expected {
    /// RP ID and origin from `ISSUER`. `None` when the issuer cannot be an
    /// RP: its host is an IP address, which browsers refuse as an RP ID
    /// (§5.1.3 step 8 needs a "valid domain"), so a deployment on
    /// `http://127.0.0.1` has no passkeys (use `http://localhost`).
    pub fn for_issuer(issuer: &str, challenge: [u8; 32]) -> Option<Self> {
        let url = Url::parse(issuer).ok()?;
        let Some(Host::Domain(rp_id)) = url.host() else {
            return None;
        };
        Some(Self {
            rp_id: rp_id.to_string(),
            origin: origin_of(&url)?,
            challenge,
        })
    }
}

/// Why a ceremony was refused. Each has a short description that is safe to
/// show to the person (it names the rule, never a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebAuthnError {
    /// Not the JSON, base64url or CBOR it must be; names the part.
    Malformed(&'static str),
    /// `id`, `rawId` and the authenticator's credential id disagree, or the id
    /// is longer than 1023 bytes (§7.1 step 26).
    CredentialId,
    /// `clientDataJSON.type` is not this ceremony's.
    CeremonyType,
    Challenge,
    Origin,
    /// Made inside a frame of another origin (`crossOrigin`, `topOrigin`).
    CrossOrigin,
    RpId,
    UserPresence,
    UserVerification,
    /// BS set without BE (§6.3.3: "If BE is not set, BS MUST NOT be set").
    BackupState,
    /// An attestation format other than `none`.
    AttestationFormat,
    /// A credential key we cannot verify with; names what is wrong.
    UnsupportedKey(&'static str),
    /// The signature is malformed or does not verify.
    Signature,
    /// The signature counter did not go up (a cloned authenticator, §6.1.1).
    Counter,
    /// The backup eligibility differs from the registered one (§7.2 step 19).
    BackupEligibility,
}

impl WebAuthnError {
    pub fn description(self) -> String {
        let fixed = match self {
            Self::Malformed(what) => return format!("the passkey response is malformed ({what})"),
            Self::UnsupportedKey(what) => return format!("the passkey's key cannot be used ({what})"),
            Self::CredentialId => "the passkey's credential id is inconsistent or too long",
            Self::CeremonyType => "the passkey response is for another kind of request",
            Self::Challenge => "the passkey response does not answer this page's challenge (reload the page)",
            Self::Origin => "the passkey response was made for another site",
            Self::CrossOrigin => "the passkey response was made inside a frame of another site",
            Self::RpId => "the passkey belongs to another site",
            Self::UserPresence => "the authenticator did not confirm that a person was present",
            Self::UserVerification => "the authenticator did not verify the person (PIN or biometrics)",
            Self::BackupState => "the authenticator's backup flags are inconsistent",
            Self::AttestationFormat => "only attestation \"none\" is accepted",
            Self::Signature => "the passkey's signature is not valid",
            Self::Counter => "the passkey's signature counter went back: the authenticator may have been cloned",
            Self::BackupEligibility => "the passkey's backup eligibility changed since it was registered",
        };
        fixed.to_string()
    }
}

impl std::fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}

/// A refused ceremony is the person's bad request: the page shows the
/// description.
impl From<WebAuthnError> for OAuthError {
    fn from(e: WebAuthnError) -> Self {
        OAuthError::new(ErrorCode::InvalidRequest, e.description())
    }
}

/// A response (the `credential` form field) taken apart: its `response`
/// member and the credential id, from `id` and `rawId`, which must agree
/// ("Verify that credential.id equals base64url(credential.rawId)"), with
/// `type` "public-key". Members we do not read are ignored.
fn parse_response(json: &str) -> Result<(Value, Vec<u8>), WebAuthnError> {
    let mut v: Value = serde_json::from_str(json).map_err(|_| WebAuthnError::Malformed("not JSON"))?;
    if text(&v, "type")? != "public-key" {
        return Err(WebAuthnError::Malformed("type"));
    }
    let raw_id = binary(&v, "rawId")?;
    if text(&v, "id")? != text(&v, "rawId")? {
        return Err(WebAuthnError::CredentialId);
    }
    match v.get_mut("response").map(Value::take) {
        Some(response @ Value::Object(_)) => Ok((response, raw_id)),
        _ => Err(WebAuthnError::Malformed("response")),
    }
}

/// A member that must be a string.
fn text<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, WebAuthnError> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or(WebAuthnError::Malformed(name))
}

/// A binary member: Level 3's JSON forms carry every binary value as
/// base64url without padding.
fn binary(v: &Value, name: &'static str) -> Result<Vec<u8>, WebAuthnError> {
    b64url_decode(text(v, name)?).ok_or(WebAuthnError::Malformed(name))
}
