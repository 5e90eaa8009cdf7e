//! Registering a new credential (§7.1), attestation `none`.

use super::authenticator_data::parse_authenticator_data;
use super::cbor::parse_attestation_object;
use super::client_data::{check_client_data, Ceremony};
use super::cose::PublicKey;
use super::{binary, parse_response, Expected, WebAuthnError};
use crate::protocol::encoding::b64url;
use serde_json::Value;

/// What to store for a credential that passed §7.1.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCredential {
    /// The credential id, base64url: how it is stored and looked up.
    pub id: String,
    pub public_key: PublicKey,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// `getTransports()`, as hints for later `allowCredentials`.
    pub transports: Vec<String>,
    /// The authenticator model (all zero for most passkey providers).
    pub aaguid: [u8; 16],
}

/// At most this many transports, each at most this long: they are stored,
/// and §5.8.4 has six values today.
const MAX_TRANSPORTS: usize = 8;
const MAX_TRANSPORT_LEN: usize = 32;

/// Verifies a registration ceremony's response (the `credential` form
/// field: Level 3 `RegistrationResponseJSON`, §5.1.1) against what the
/// server expects, following §7.1: the credential
/// ids agree and fit (steps 26, and `id` = base64url(`rawId`)); client data
/// (steps 7–12); "Perform CBOR decoding on the attestationObject" (step
/// 14); RP ID hash and flags (steps 15–18); the key's algorithm is one we
/// offered (step 20, [`super::COSE_ALGORITHMS`]); the format is `none`
/// (step 22: "USASCII case-sensitive match") whose statement is empty
/// (§8.7: `attStmt = emptyMap`). That the id is not registered already
/// (step 27) is the caller's to check.
pub fn verify_registration(expected: &Expected, response_json: &str) -> Result<NewCredential, WebAuthnError> {
    let (response, raw_id) = parse_response(response_json)?;
    let client_data = binary(&response, "clientDataJSON")?;
    check_client_data(&client_data, Ceremony::Create, expected)?;
    let object_bytes = binary(&response, "attestationObject")?;
    let object = parse_attestation_object(&object_bytes)?;
    let auth_data = parse_authenticator_data(object.auth_data)?;
    auth_data.check(expected)?;
    if object.fmt != "none" {
        return Err(WebAuthnError::AttestationFormat);
    }
    if object.att_stmt != [0xa0] {
        return Err(WebAuthnError::Malformed("attestation statement"));
    }
    let attested = auth_data
        .attested
        .as_ref()
        .ok_or(WebAuthnError::Malformed("no attested credential data"))?;
    if attested.credential_id != raw_id {
        return Err(WebAuthnError::CredentialId);
    }
    let transports = transports(&response)?;
    Ok(NewCredential {
        id: b64url(&raw_id),
        public_key: attested.public_key.clone(),
        sign_count: auth_data.sign_count,
        backup_eligible: auth_data.backup_eligible(),
        backed_up: auth_data.backed_up(),
        transports,
        aaguid: attested.aaguid,
    })
}

/// `response.transports`: absent, or an array of short strings.
fn transports(response: &Value) -> Result<Vec<String>, WebAuthnError> {
    let bad = WebAuthnError::Malformed("transports");
    let list = match response.get("transports") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= MAX_TRANSPORTS => list,
        Some(_) => return Err(bad),
    };
    list.iter()
        .map(|t| match t.as_str() {
            Some(t) if t.len() <= MAX_TRANSPORT_LEN => Ok(t.to_string()),
            _ => Err(bad),
        })
        .collect()
}
