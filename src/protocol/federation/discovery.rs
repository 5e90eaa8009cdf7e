//! What we need to know of an upstream: from its OpenID Provider Metadata
//! (OIDC Discovery 1.0 §3, fetched per §4), or for a plain OAuth 2.0
//! provider, from the admin's configuration.

use super::provider::ProviderRecord;
use super::{check_endpoint, FederationError};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamMetadata {
    /// The issuer the provider's answers must name (`iss` of its ID tokens
    /// and of RFC 9207 authorization responses); `None` for an OAuth 2.0
    /// provider configured without one.
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 9207 §3 `authorization_response_iss_parameter_supported`: the
    /// authorization response then carries `iss`, which must be checked.
    pub iss_parameter_supported: bool,
    pub code_challenge_methods_supported: Vec<String>,
}

/// OIDC Discovery §4: "OpenID Providers supporting Discovery MUST make a
/// JSON document available at the path formed by concatenating the string
/// /.well-known/openid-configuration to the Issuer", "If the Issuer value
/// contains a path component, any terminating / MUST be removed before
/// appending".
pub fn metadata_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

fn bad(what: impl Into<String>) -> FederationError {
    FederationError::BadResponse(format!("discovery document: {}", what.into()))
}

fn url_member(doc: &Map<String, Value>, name: &str) -> Result<Option<String>, FederationError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) => match check_endpoint(url) {
            Ok(()) => Ok(Some(url.clone())),
            Err(why) => Err(bad(format!("{name} {why}"))),
        },
        Some(_) => Err(bad(format!("{name} is not a string"))),
    }
}

fn required_url(doc: &Map<String, Value>, name: &str) -> Result<String, FederationError> {
    url_member(doc, name)?.ok_or_else(|| bad(format!("{name} is missing")))
}

/// An array of strings; absent is empty (members of other types are a
/// broken document).
fn strings(doc: &Map<String, Value>, name: &str) -> Result<Vec<String>, FederationError> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| bad(format!("{name} is not an array of strings"))),
        Some(_) => Err(bad(format!("{name} is not an array of strings"))),
    }
}

/// Reads an upstream's metadata. OIDC Discovery §4.3: "The issuer value
/// returned MUST be identical to the Issuer URL that was used as the
/// prefix to /.well-known/openid-configuration to retrieve the
/// configuration information", else the metadata "MUST NOT be used".
/// `jwks_uri` is required (§3: REQUIRED; we verify ID tokens with it);
/// every endpoint passes the rule the admin's URLs pass.
pub fn parse_metadata(json: &[u8], expected_issuer: &str) -> Result<UpstreamMetadata, FederationError> {
    let doc = match serde_json::from_slice(json) {
        Ok(Value::Object(doc)) => doc,
        _ => return Err(bad("not a JSON object")),
    };
    match doc.get("issuer").and_then(Value::as_str) {
        Some(issuer) if issuer == expected_issuer => {}
        Some(_) => return Err(bad("its issuer is not the configured issuer")),
        None => return Err(bad("issuer is missing")),
    }
    let iss_parameter_supported = match doc.get("authorization_response_iss_parameter_supported") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("authorization_response_iss_parameter_supported is not a boolean")),
    };
    Ok(UpstreamMetadata {
        issuer: Some(expected_issuer.to_owned()),
        authorization_endpoint: required_url(&doc, "authorization_endpoint")?,
        token_endpoint: required_url(&doc, "token_endpoint")?,
        userinfo_endpoint: url_member(&doc, "userinfo_endpoint")?,
        jwks_uri: Some(required_url(&doc, "jwks_uri")?),
        id_token_signing_alg_values_supported: strings(&doc, "id_token_signing_alg_values_supported")?,
        iss_parameter_supported,
        code_challenge_methods_supported: strings(&doc, "code_challenge_methods_supported")?,
    })
}

/// A plain OAuth 2.0 provider's metadata, from its configuration. With an
/// issuer configured, the authorization response's `iss` is checked when
/// it is sent (RFC 9207 §2.4), which `iss_parameter_supported` leaves to
/// the callback: a provider that never sends it is not refused for that.
pub fn oauth2_metadata(p: &ProviderRecord) -> UpstreamMetadata {
    UpstreamMetadata {
        issuer: p.issuer.clone(),
        authorization_endpoint: p.authorization_endpoint.clone().unwrap_or_default(),
        token_endpoint: p.token_endpoint.clone().unwrap_or_default(),
        userinfo_endpoint: p.userinfo_endpoint.clone(),
        jwks_uri: None,
        id_token_signing_alg_values_supported: Vec::new(),
        iss_parameter_supported: false,
        code_challenge_methods_supported: Vec::new(),
    }
}
