//! The admin API's body (`POST` / `PUT /admin/idps`), validated into a
//! [`ProviderDraft`]. Each refusal names the member it is about.

use super::{NewSecret, ProviderDraft, ProviderKind, ProviderRecord, StoredSecret};
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::federation::check_endpoint;
use crate::protocol::object::WireName;
use crate::protocol::scope::is_scope_token;
use crate::protocol::user::standard_claim_names;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const ID_MAX: usize = 32;
const NAME_MAX: usize = 64;
const CLIENT_ID_MAX: usize = 255;
const SECRET_MAX: usize = 1024;
const APPLE_ID_MAX: usize = 32;
const PRIVATE_KEY_MAX: usize = 4096;
const URL_MAX: usize = 2000;
const LIST_MAX: usize = 20;
const SCOPE_MAX: usize = 128;
const CLAIMS_MAX: usize = 30;
const MEMBER_MAX: usize = 128;
const DOMAIN_MAX: usize = 253;

/// The members a body may carry. The read-only ones of
/// [`ProviderRecord::public_view`] (`client_secret_set`, `created_at`,
/// `updated_at`) are accepted and ignored, so a body read with `GET` can
/// be edited and sent back with `PUT`; any other member is refused, so
/// that a misspelt one does not silently do nothing.
const MEMBERS: &[&str] = &[
    "id",
    "name",
    "kind",
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "client_id",
    "client_secret",
    "apple_client_secret",
    "token_endpoint_auth_method",
    "scopes",
    "claims",
    "response_mode",
    "link_by_verified_email",
    "keep_tokens",
    "enabled",
    "domains",
    "client_secret_set",
    "created_at",
    "updated_at",
];

fn text<'a>(obj: &'a Map<String, Value>, name: &str, max: usize) -> OAuthResult<Option<&'a str>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(invalid_request(format!("{name} must not be empty"))),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(invalid_request(format!("{name} must be at most {max} characters")))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err(invalid_request(format!("{name} must not contain control characters")))
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid_request(format!("{name} must be a string"))),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, name: &str, max: usize, why: &str) -> OAuthResult<&'a str> {
    text(obj, name, max)?.ok_or_else(|| invalid_request(format!("{name} is required{why}")))
}

fn flag(obj: &Map<String, Value>, name: &str, default: bool) -> OAuthResult<bool> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid_request(format!("{name} must be true or false"))),
    }
}

/// One of an enum's wire names.
fn choice<T: WireName>(obj: &Map<String, Value>, name: &str) -> OAuthResult<Option<T>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(T::from_name)
            .map(Some)
            .ok_or_else(|| invalid_request(format!("{name} must be one of {}", T::listed()))),
    }
}

/// An array of strings, each passing `ok` (which says why not).
fn list(
    obj: &Map<String, Value>,
    name: &str,
    ok: impl Fn(&str) -> Result<(), &'static str>,
) -> OAuthResult<Option<Vec<String>>> {
    let items = match obj.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) if items.len() <= LIST_MAX => items,
        Some(Value::Array(_)) => return Err(invalid_request(format!("{name} has more than {LIST_MAX} entries"))),
        Some(_) => return Err(invalid_request(format!("{name} must be an array of strings"))),
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let s = item
            .as_str()
            .ok_or_else(|| invalid_request(format!("{name} must be an array of strings")))?;
        ok(s).map_err(|why| invalid_request(format!("{name}: {s:?} {why}")))?;
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(Some(out))
}

fn endpoint(obj: &Map<String, Value>, name: &str) -> OAuthResult<Option<String>> {
    let Some(url) = text(obj, name, URL_MAX)? else {
        return Ok(None);
    };
    check_endpoint(url).map_err(|why| invalid_request(format!("{name}: {url:?} {why}")))?;
    Ok(Some(url.to_owned()))
}

/// `[a-z0-9-]{1,32}`: it appears in paths (`/federation/{id}/callback`).
fn valid_id(id: &str) -> bool {
    (1..=ID_MAX).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A lower-case DNS name (RFC 1035 §2.3.1 labels, RFC 5890's A-labels for
/// internationalised ones): as the part of an e-mail address after `@`
/// is compared, once lower-cased.
fn check_domain(d: &str) -> Result<(), &'static str> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if d.len() <= DOMAIN_MAX && d.split('.').all(label_ok) {
        Ok(())
    } else {
        Err("is not a lower-case DNS name")
    }
}

fn check_scope(s: &str) -> Result<(), &'static str> {
    match s.len() <= SCOPE_MAX && is_scope_token(s) {
        true => Ok(()),
        false => Err("is not a scope token (RFC 6749 §3.3)"),
    }
}

/// `claims`: our claim → the upstream member. Our claims are the standard
/// ones an account holds, and `sub` for OAuth 2.0 (the member that names
/// the person upstream, such as GitHub's `id`); an OIDC provider's subject
/// is its ID token's `sub`.
fn claim_map(obj: &Map<String, Value>, kind: ProviderKind) -> OAuthResult<BTreeMap<String, String>> {
    let empty = Map::new();
    let entries = match obj.get("claims") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) if m.len() <= CLAIMS_MAX => m,
        Some(Value::Object(_)) => return Err(invalid_request(format!("claims has more than {CLAIMS_MAX} entries"))),
        Some(_) => return Err(invalid_request("claims must be an object of strings")),
    };
    let mut out = BTreeMap::new();
    for (ours, upstream) in entries {
        let allowed = match ours.as_str() {
            "sub" => kind == ProviderKind::OAuth2,
            name => standard_claim_names().any(|n| n == name),
        };
        if !allowed {
            let why = match kind {
                ProviderKind::Oidc if ours == "sub" => "the subject of an oidc provider is its ID token's sub",
                _ => "only OIDC standard claims (and sub, for oauth2) can be mapped",
            };
            return Err(invalid_request(format!("claims: {ours:?} cannot be mapped: {why}")));
        }
        match upstream.as_str() {
            Some(m) if !m.is_empty() && m.chars().count() <= MEMBER_MAX => {
                out.insert(ours.clone(), m.to_owned());
            }
            _ => {
                return Err(invalid_request(format!(
                    "claims: {ours:?} must name an upstream member (a string of 1 to {MEMBER_MAX} characters)"
                )))
            }
        }
    }
    if kind == ProviderKind::OAuth2 && !out.contains_key("sub") {
        return Err(invalid_request(
            "claims must map sub for an oauth2 provider (the upstream member that identifies the person, e.g. \"id\")",
        ));
    }
    Ok(out)
}

/// `apple_client_secret`: `{"team_id", "key_id", "private_key"}`. Sent back
/// as the API shows it (without `private_key`, the same ids), it keeps the
/// existing key.
fn apple_secret(v: &Value, existing: &StoredSecret) -> OAuthResult<Option<NewSecret>> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid_request("apple_client_secret must be an object"))?;
    if let Some(extra) = obj
        .keys()
        .find(|k| !["team_id", "key_id", "private_key"].contains(&k.as_str()))
    {
        return Err(invalid_request(format!(
            "apple_client_secret: unknown member {extra:?}"
        )));
    }
    let id = |name: &str| -> OAuthResult<String> {
        let full = format!("apple_client_secret.{name}");
        match obj.get(name).and_then(Value::as_str) {
            Some(s) if (1..=APPLE_ID_MAX).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(s.to_owned())
            }
            _ => Err(invalid_request(format!(
                "{full} is required: letters and digits, as Apple shows it"
            ))),
        }
    };
    let (team_id, key_id) = (id("team_id")?, id("key_id")?);
    // Not `text`: a PEM has line breaks.
    let pem = match obj.get("private_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(pem)) if pem.len() <= PRIVATE_KEY_MAX => Some(pem),
        Some(_) => return Err(invalid_request("apple_client_secret.private_key must be a PEM string")),
    };
    let Some(pem) = pem else {
        return match existing {
            StoredSecret::Apple {
                team_id: t, key_id: k, ..
            } if *t == team_id && *k == key_id => Ok(None),
            _ => Err(invalid_request("apple_client_secret.private_key is required")),
        };
    };
    if crate::protocol::federation::request::pem_to_pkcs8_der(pem).is_none() {
        return Err(invalid_request(
            "apple_client_secret.private_key must be the PKCS#8 PEM key Apple gives (-----BEGIN PRIVATE KEY-----)",
        ));
    }
    Ok(Some(NewSecret::Apple {
        team_id,
        key_id,
        private_key_pem: pem.to_owned(),
    }))
}

/// The secret sent with the body, if any; a provider ends up with exactly
/// one (the new one, or the one it has).
fn new_secret(obj: &Map<String, Value>, existing: &StoredSecret) -> OAuthResult<Option<NewSecret>> {
    let secret = text(obj, "client_secret", SECRET_MAX)?;
    let apple = obj.get("apple_client_secret").filter(|v| !v.is_null());
    let new = match (secret, apple) {
        (Some(_), Some(_)) => return Err(invalid_request("give client_secret or apple_client_secret, not both")),
        (Some(s), None) => Some(NewSecret::ClientSecret(s.to_owned())),
        (None, Some(apple)) => apple_secret(apple, existing)?,
        (None, None) => None,
    };
    if new.is_none() && *existing == StoredSecret::None {
        return Err(invalid_request("client_secret (or apple_client_secret) is required"));
    }
    Ok(new)
}

/// Parses a `POST /admin/idps` body (`existing` `None`) or a `PUT
/// /admin/idps/{id}` one (`id_from_path`, `existing` the stored record).
/// PUT replaces the whole provider, except that an omitted secret keeps
/// the one it has: secrets cannot be read back to be sent again.
pub fn parse_provider(
    body: &Value,
    id_from_path: Option<&str>,
    existing: Option<&ProviderRecord>,
    now: u64,
) -> OAuthResult<ProviderDraft> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid_request("the request body must be a JSON object"))?;
    if let Some(unknown) = obj.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(invalid_request(format!("unknown member {unknown:?}")));
    }
    let id = match (text(obj, "id", URL_MAX)?, id_from_path) {
        (Some(body), Some(path)) if body != path => return Err(invalid_request("id cannot be changed")),
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(invalid_request("id is required")),
    };
    if !valid_id(id) {
        return Err(invalid_request("id must be 1 to 32 of a-z, 0-9 and -"));
    }
    let name = required(obj, "name", NAME_MAX, "")?;
    if name.trim().is_empty() {
        return Err(invalid_request("name must not be blank"));
    }
    let kind = choice(obj, "kind")?.ok_or_else(|| invalid_request("kind is required"))?;
    let (issuer, endpoints) = (
        endpoint(obj, "issuer")?,
        [
            endpoint(obj, "authorization_endpoint")?,
            endpoint(obj, "token_endpoint")?,
            endpoint(obj, "userinfo_endpoint")?,
        ],
    );
    let names = ["authorization_endpoint", "token_endpoint", "userinfo_endpoint"];
    match kind {
        ProviderKind::Oidc => {
            if issuer.is_none() {
                return Err(invalid_request("issuer is required for an oidc provider"));
            }
            if let Some(i) = endpoints.iter().position(Option::is_some) {
                return Err(invalid_request(format!(
                    "{}: an oidc provider's endpoints come from its discovery document; leave it out",
                    names[i]
                )));
            }
        }
        ProviderKind::OAuth2 => {
            if let Some(i) = endpoints.iter().position(Option::is_none) {
                return Err(invalid_request(format!(
                    "{} is required for an oauth2 provider",
                    names[i]
                )));
            }
        }
    }
    let scopes = list(obj, "scopes", check_scope)?.unwrap_or_else(|| match kind {
        ProviderKind::Oidc => ["openid", "email", "profile"].map(String::from).to_vec(),
        ProviderKind::OAuth2 => Vec::new(),
    });
    if kind == ProviderKind::Oidc && !scopes.iter().any(|s| s == "openid") {
        return Err(invalid_request("scopes must include openid for an oidc provider"));
    }
    let existing_secret = existing.map_or(StoredSecret::None, |e| e.secret.clone());
    let new_secret = new_secret(obj, &existing_secret)?;
    let [authorization_endpoint, token_endpoint, userinfo_endpoint] = endpoints;
    let record = ProviderRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        kind,
        issuer,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        client_id: required(obj, "client_id", CLIENT_ID_MAX, "")?.to_owned(),
        secret: existing_secret,
        token_endpoint_auth_method: choice(obj, "token_endpoint_auth_method")?.unwrap_or_default(),
        scopes,
        claims: claim_map(obj, kind)?,
        response_mode: choice(obj, "response_mode")?.unwrap_or_default(),
        link_by_verified_email: flag(obj, "link_by_verified_email", false)?,
        keep_tokens: flag(obj, "keep_tokens", false)?,
        enabled: flag(obj, "enabled", true)?,
        domains: list(obj, "domains", check_domain)?.unwrap_or_default(),
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    };
    Ok(ProviderDraft { record, new_secret })
}
