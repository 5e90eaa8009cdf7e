//! What we send upstream and what comes back: the authorization request
//! (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3), the check of the
//! authorization response's `iss` (RFC 9207), the token request (RFC 6749
//! §4.1.3) and its answer (§5.1, §5.2), and Apple's client secret.

use super::discovery::UpstreamMetadata;
use super::provider::{ProviderKind, ProviderRecord, ResponseMode, UpstreamAuthMethod};
use super::{excerpt, FederationError};
use crate::protocol::encoding::b64url;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::form_urlencoded::{byte_serialize, Serializer};

/// Apple's client secret: "The audience ... Use https://appleid.apple.com".
const APPLE_AUDIENCE: &str = "https://appleid.apple.com";
/// Apple allows up to six months; we make one per exchange, so a stolen
/// one is worth minutes.
const APPLE_SECRET_LIFETIME: u64 = 300;

/// The URL the browser is sent to. PKCE S256 is always sent (RFC 9700
/// §2.1.1 wants it for every client; an upstream that does not know it
/// ignores unknown parameters, RFC 6749 §3.1), and so is `state`; `nonce`
/// and `login_hint` only to an OIDC provider. A query the configured
/// endpoint already has is kept (RFC 6749 §3.1: it "MUST" be retained).
pub fn authorization_url(
    meta: &UpstreamMetadata,
    p: &ProviderRecord,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    code_challenge: &str,
    login_hint: Option<&str>,
) -> String {
    let mut q = Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", redirect_uri);
    if !p.scopes.is_empty() {
        q.append_pair("scope", &p.scopes.join(" "));
    }
    q.append_pair("state", state)
        .append_pair("code_challenge", code_challenge)
        .append_pair("code_challenge_method", "S256");
    if p.kind == ProviderKind::Oidc {
        q.append_pair("nonce", nonce);
        if let Some(hint) = login_hint {
            q.append_pair("login_hint", hint);
        }
    }
    if p.response_mode == ResponseMode::FormPost {
        q.append_pair("response_mode", "form_post");
    }
    // Endpoints are validated to have no fragment, so the query is last.
    let base = &meta.authorization_endpoint;
    let sep = match base.contains('?') {
        true if base.ends_with('?') || base.ends_with('&') => "",
        true => "&",
        false => "?",
    };
    format!("{base}{sep}{}", q.finish())
}

/// RFC 9207 §2.4: "clients MUST compare" an `iss` in the authorization
/// response "with the issuer identifier of the authorization server where
/// the authorization request was sent to"; when the metadata says it is
/// sent, a response without it is refused too. A provider configured
/// without an issuer cannot be checked: it has no `iss` to compare with.
pub fn check_response_iss(meta: &UpstreamMetadata, iss: Option<&str>) -> Result<(), FederationError> {
    match (meta.issuer.as_deref(), iss) {
        (Some(expected), Some(got)) if expected != got => Err(FederationError::MixUp),
        (Some(_), None) if meta.iss_parameter_supported => Err(FederationError::MixUp),
        _ => Ok(()),
    }
}

/// An HTTP request for the platform to send.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Never prints the body or the headers (code, verifier, secret).
impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenRequest {{ url: {:?}, [redacted] }}", self.url)
    }
}

/// RFC 6749 §4.1.3, with RFC 7636 §4.5's `code_verifier`. The client
/// authenticates per its configured method (§2.3.1): `client_secret_basic`
/// sends `client_id` and the secret "encoded using the
/// application/x-www-form-urlencoded encoding algorithm" first, then
/// base64; `client_secret_post` sends both in the body. `Accept:
/// application/json`: GitHub answers form-encoded without it.
pub fn token_request(
    meta: &UpstreamMetadata,
    p: &ProviderRecord,
    redirect_uri: &str,
    code: &str,
    code_verifier: &str,
    client_secret: &str,
) -> TokenRequest {
    let mut body = Serializer::new(String::new());
    body.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", code_verifier);
    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    match p.token_endpoint_auth_method {
        UpstreamAuthMethod::ClientSecretBasic => {
            let encode = |s: &str| byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(&p.client_id), encode(client_secret));
            headers.push(("Authorization".to_owned(), format!("Basic {}", STANDARD.encode(pair))));
        }
        UpstreamAuthMethod::ClientSecretPost => {
            body.append_pair("client_id", &p.client_id)
                .append_pair("client_secret", client_secret);
        }
    }
    TokenRequest {
        url: meta.token_endpoint.clone(),
        headers,
        body: body.finish(),
    }
}

/// RFC 6749 §5.1's successful answer.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamTokens {
    pub access_token: String,
    pub token_type: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Never prints a token.
impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("token_type", &self.token_type)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn bad(what: impl Into<String>) -> FederationError {
    FederationError::BadResponse(format!("token response: {}", what.into()))
}

/// Reads the token endpoint's answer. An RFC 6749 §5.2 error body is
/// [`FederationError::Refused`] whatever its status, since GitHub answers
/// `200` with `{"error": "bad_verification_code", ...}`. RFC 6749 §7.1:
/// the client "MUST NOT use an access token if it does not understand the
/// token type", and we only send `Bearer` ones (RFC 6750; case-insensitive,
/// GitHub writes `bearer`).
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<UpstreamTokens, FederationError> {
    let doc = match serde_json::from_slice(body) {
        Ok(Value::Object(doc)) => doc,
        _ => return Err(bad(format!("HTTP {status}, not a JSON object"))),
    };
    let text = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(error) = text("error") {
        return Err(FederationError::refused(&error, text("error_description").as_deref()));
    }
    if status != 200 {
        return Err(bad(format!("HTTP {status}")));
    }
    let access_token = text("access_token").ok_or_else(|| bad("access_token is missing"))?;
    let token_type = text("token_type").ok_or_else(|| bad("token_type is missing"))?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(bad(format!("token_type {:?} is not Bearer", excerpt(&token_type))));
    }
    // A number, as §5.1 has it, or digits in a string, as some send.
    let expires_in = match doc.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse().map_err(|_| bad("expires_in is not a number"))?),
        Some(v) => Some(v.as_u64().ok_or_else(|| bad("expires_in is not a number"))?),
    };
    Ok(UpstreamTokens {
        access_token,
        token_type,
        id_token: text("id_token"),
        refresh_token: text("refresh_token"),
        expires_in,
        scope: text("scope"),
    })
}

/// A plain OAuth provider's user-info request: GET its endpoint with the
/// access token (RFC 6750 §2.1 Bearer), asking for JSON. The URL and the
/// headers; the platform sends it.
pub fn userinfo_request(
    meta: &UpstreamMetadata,
    access_token: &str,
) -> Result<(String, Vec<(String, String)>), FederationError> {
    let url = meta
        .userinfo_endpoint
        .clone()
        .ok_or_else(|| FederationError::BadResponse("the provider has no user-info endpoint".into()))?;
    let headers = vec![
        ("authorization".into(), format!("Bearer {access_token}")),
        ("accept".into(), "application/json".into()),
    ];
    Ok((url, headers))
}

/// The JWS signing input of Apple's client secret ("Creating a client
/// secret"): header `{"alg": "ES256", "kid": key_id}`, claims `iss` the
/// team id, `iat`, `exp`, `aud` Apple, `sub` the client id (the Services
/// ID). The platform signs it with the team's key (ES256, WebCrypto's raw
/// `r || s`) and appends the signature with
/// [`attach_signature`](crate::protocol::jose::attach_signature).
pub fn apple_client_secret_input(team_id: &str, key_id: &str, client_id: &str, now: u64) -> String {
    let header = json!({"alg": "ES256", "kid": key_id});
    let claims = json!({
        "iss": team_id,
        "iat": now,
        "exp": now + APPLE_SECRET_LIFETIME,
        "aud": APPLE_AUDIENCE,
        "sub": client_id,
    });
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// The DER inside a PKCS#8 PEM (RFC 7468 §10, `-----BEGIN PRIVATE
/// KEY-----`, as Apple's `.p8` files are), for WebCrypto's `importKey
/// ("pkcs8", …)`. `None` when it is not one: another label, bad base64, or
/// content that is not a DER SEQUENCE.
pub fn pem_to_pkcs8_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let b64: String = body.split_ascii_whitespace().collect();
    let der = STANDARD.decode(b64).ok()?;
    (der.first() == Some(&0x30)).then_some(der)
}

/// An upstream's tokens kept for the admin's use (`keep_tokens`: a
/// backend calling the upstream's API for the person), sealed as one JSON
/// value in [`KeptTokensRecord`]. Never kept otherwise.
#[derive(Serialize, Deserialize)]
pub struct KeptTokens {
    pub access_token: String,
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token expires, if the upstream said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    pub obtained_at: u64,
}

impl KeptTokens {
    pub fn new(t: &UpstreamTokens, now: u64) -> Self {
        KeptTokens {
            access_token: t.access_token.clone(),
            token_type: t.token_type.clone(),
            refresh_token: t.refresh_token.clone(),
            id_token: t.id_token.clone(),
            scope: t.scope.clone(),
            expires_at: t.expires_in.map(|s| now.saturating_add(s)),
            obtained_at: now,
        }
    }
}

/// The record of [`KeptTokens`], in KV under `idp_tokens:<sub>:<idp>`.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeptTokensRecord {
    pub key: String,
    /// The sealed JSON of [`KeptTokens`] (the platform's AES-GCM, bound to
    /// [`KeptTokensRecord::key`]).
    pub sealed: String,
}

impl KeptTokensRecord {
    pub fn key_for(sub: &str, idp: &str) -> String {
        format!("{sub}:{idp}")
    }
}
