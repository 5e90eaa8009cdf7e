//! Who the upstream says signed in, in our terms: the subject that links
//! to a local account, and the claims copied into it.

use super::provider::{ProviderKind, ProviderRecord};
use super::FederationError;
use crate::protocol::encoding::{b64url, sha256};
use crate::protocol::user::validate_username;
use crate::protocol::user::{fits_standard_claim, standard_claim_names, validate_claims};
use serde_json::{Map, Value};

/// OIDC Core §2 `sub`: at most 255 ASCII characters; we hold a mapped
/// OAuth 2.0 subject to the same.
const SUBJECT_MAX: usize = 255;

/// Claims the default mapping leaves alone although they are standard:
/// `updated_at` is about the upstream's record, not ours.
const NOT_COPIED_BY_DEFAULT: &[&str] = &["updated_at"];

#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamIdentity {
    /// The issuer the link is keyed by: the ID token's `iss` (OIDC), or
    /// [`ProviderRecord::link_issuer`] (OAuth 2.0).
    pub issuer: String,
    pub subject: String,
    /// Our standard claims, mapped, each of its OIDC Core §5.1 type; they
    /// pass [`validate_claims`], so they can be stored as they are.
    pub claims: Map<String, Value>,
    /// The e-mail address lower-cased, to find an account by (the claim
    /// keeps it as sent).
    pub email: Option<String>,
    pub email_verified: bool,
    /// The upstream's own `amr` (RFC 8176), when it is an array of strings.
    pub amr: Option<Vec<String>>,
}

/// The username of an account a first sign-in through provider `idp`
/// makes: `<idp>.<upstream subject>` (`github.583231`), so the admin can
/// find it by what the upstream calls the person; `None` when that is no
/// username (characters outside the username's, or too long), and a
/// random one is made instead.
pub fn federated_username(idp: &str, subject: &str) -> Option<String> {
    let name = format!("{idp}.{subject}");
    validate_username(&name).is_ok().then_some(name)
}

/// The name of the link object (`link::LinkMachine`) of (`issuer`, `subject`): a hash, so that no
/// upstream identifier (some are e-mail addresses) is a key, and the
/// zero octet keeps `("a", "bc")` apart from `("ab", "c")`.
pub fn link_key(issuer: &str, subject: &str) -> String {
    b64url(&sha256(&[issuer.as_bytes(), &[0], subject.as_bytes()].concat()))
}

/// Reads a user-info answer (OIDC Core §5.3.2, or a plain OAuth 2.0
/// provider's user endpoint such as GitHub's `/user`): a JSON object with
/// status 200. Signed or encrypted answers (`application/jwt`) are not
/// asked for, so not read.
pub fn parse_userinfo(status: u16, body: &[u8]) -> Result<Map<String, Value>, FederationError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(info)) if status == 200 => Ok(info),
        _ => Err(FederationError::BadResponse(format!(
            "user info: HTTP {status}, not a JSON object"
        ))),
    }
}

/// An OIDC provider's ID token claims completed by its user-info answer.
/// OIDC Core §5.3.2: "The sub Claim in the UserInfo Response MUST be
/// verified to exactly match the sub Claim in the ID Token; if they do not
/// match, the UserInfo Response values MUST NOT be used." Where both say
/// something, the ID token (whose signature was verified) wins.
pub fn merge_userinfo(
    mut id_token_claims: Map<String, Value>,
    userinfo: Map<String, Value>,
) -> Result<Map<String, Value>, FederationError> {
    if userinfo.get("sub").is_none() || userinfo.get("sub") != id_token_claims.get("sub") {
        return Err(FederationError::BadResponse(
            "user info: its sub is not the ID token's".into(),
        ));
    }
    for (name, value) in userinfo {
        id_token_claims.entry(name).or_insert(value);
    }
    Ok(id_token_claims)
}

/// An upstream member: the member named so, or else a dotted path into
/// objects (`address.country`), so a name that has dots in it (a URL, as
/// some providers name claims) still works.
fn lookup<'a>(upstream: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    upstream.get(name).or_else(|| {
        let mut parts = name.split('.');
        let first = upstream.get(parts.next()?)?;
        parts.try_fold(first, |v, part| v.get(part))
    })
}

/// A value as our claim `name` holds it, or `None` when it cannot be: of
/// another type, or `null` (GitHub's `name` of an account without one).
/// Booleans sent as the strings `"true"` / `"false"` (Apple's
/// `email_verified`) become booleans.
fn as_claim(name: &str, value: &Value) -> Option<Value> {
    let value = match value.as_str() {
        Some("true") if fits_standard_claim(name, &Value::Bool(true)) => Value::Bool(true),
        Some("false") if fits_standard_claim(name, &Value::Bool(false)) => Value::Bool(false),
        _ => value.clone(),
    };
    fits_standard_claim(name, &value).then_some(value)
}

/// The subject: a non-empty string, or a whole number as its decimal
/// digits (GitHub's `id`).
fn subject(value: Option<&Value>) -> Result<String, FederationError> {
    let subject = match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => String::new(),
    };
    if subject.is_empty() || subject.len() > SUBJECT_MAX {
        return Err(FederationError::BadResponse(
            "the provider's answer has no usable subject (a string or a whole number)".into(),
        ));
    }
    Ok(subject)
}

/// Maps what the upstream said (the checked ID token's claims, or the
/// user-info answer) to an [`UpstreamIdentity`]. With no configured
/// `claims`, an OIDC provider's standard claims (OIDC Core §5.1) are copied
/// by name, which never includes `sub`, `iss`, `aud`, the times, `nonce`
/// or `amr`; a configured mapping copies exactly what it names. A value of
/// the wrong type is left out rather than refusing the sign-in.
pub fn identity(
    p: &ProviderRecord,
    issuer: &str,
    upstream: &Map<String, Value>,
) -> Result<UpstreamIdentity, FederationError> {
    let subject_member = p.claims.get("sub").map_or("sub", String::as_str);
    let subject = subject(lookup(upstream, subject_member))?;
    let mut claims = Map::new();
    if p.claims.is_empty() && p.kind == ProviderKind::Oidc {
        for name in standard_claim_names().filter(|n| !NOT_COPIED_BY_DEFAULT.contains(n)) {
            if let Some(v) = upstream.get(name).and_then(|v| as_claim(name, v)) {
                claims.insert(name.to_owned(), v);
            }
        }
    }
    for (ours, member) in p.claims.iter().filter(|(ours, _)| *ours != "sub") {
        if let Some(v) = lookup(upstream, member).and_then(|v| as_claim(ours, v)) {
            claims.insert(ours.clone(), v);
        }
    }
    validate_claims(&claims).map_err(|e| FederationError::BadResponse(format!("claims: {}", e.description)))?;
    let email = claims.get("email").and_then(Value::as_str).map(str::to_lowercase);
    let email_verified = email.is_some() && claims.get("email_verified") == Some(&Value::Bool(true));
    let amr = match upstream.get("amr") {
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    };
    Ok(UpstreamIdentity {
        issuer: issuer.to_owned(),
        subject,
        claims,
        email,
        email_verified,
        amr,
    })
}

/// The verification flag of each claim that has one (OIDC Core §5.1).
const VERIFIED_BY: [(&str, &str); 2] = [("email", "email_verified"), ("phone_number", "phone_number_verified")];

/// An account's claims with an upstream's mapped `claims` copied over
/// them, as at each federated sign-in. An address or number that changes
/// without the upstream saying it is verified is not: its flag becomes
/// `false`, so that a flag set for the old value never vouches for the new
/// one.
pub fn copy_upstream_claims(account: &mut Map<String, Value>, claims: &Map<String, Value>) {
    for (claim, flag) in VERIFIED_BY {
        let changed = claims.get(claim).is_some_and(|new| account.get(claim) != Some(new));
        if changed && !claims.contains_key(flag) {
            account.insert(flag.into(), Value::Bool(false));
        }
    }
    for (name, value) in claims {
        account.insert(name.clone(), value.clone());
    }
}

/// Whether an account's own `email` claim is verified (`email_verified`
/// `true`): linking to it by address needs both sides verified, or anyone
/// who signed up elsewhere with someone's address first would receive the
/// real owner's later sign-ins.
pub fn email_verified(claims: &Map<String, Value>) -> bool {
    claims.get("email_verified") == Some(&Value::Bool(true))
}
