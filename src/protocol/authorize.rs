//! The authorization request: RFC 6749 §4.1.1, OIDC Core §3.1.2.1, PKCE
//! (RFC 7636), issuer identification (RFC 9207) and the OAuth 2.0 Security
//! BCP (RFC 9700). [`validate`] turns the parameters into an
//! [`AuthorizationRequest`] or says whether its error may be redirected;
//! `needs_*` and [`interaction_error`] decide the login and consent steps;
//! [`success_redirect`] / [`error_redirect`] build the answer.

use crate::protocol::acr;
use crate::protocol::client::{ClientRecord, GrantType};
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::Params;
use crate::protocol::resource::{check_allowed, parse_resources};
use crate::protocol::scope;
use crate::protocol::session::SessionRecord;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use url::{form_urlencoded, Url};

/// Limits so that one request cannot bloat what we sign and store.
const MAX_STATE: usize = 2048;
const MAX_NONCE: usize = 512;
const MAX_LOGIN_HINT: usize = 256;
/// Provider ids are at most 32 characters; a longer hint names none.
const MAX_IDP: usize = 64;
/// RFC 7636 §4.2: S256 yields BASE64URL(SHA-256(verifier)), 43 characters.
const S256_CHALLENGE_LEN: usize = 43;

/// Parameters we recognise; each "MUST NOT be included more than once"
/// (RFC 6749 §3.1). Unrecognised ones are ignored, repeated or not.
const RECOGNISED: &str = "response_type scope state nonce code_challenge code_challenge_method \
    prompt max_age login_hint response_mode request request_uri registration display ui_locales \
    claims_locales id_token_hint acr_values claims idp";

/// OIDC Core §3.1.2.1 `prompt`, as the set of values present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request, carried between the login and consent
/// pages inside a signed hidden field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Validated and allowed for the client.
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// S256 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub prompt: Prompt,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// RFC 8707 resources, validated and allowed for the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The classes asked for (`acr_values`, else the client's
    /// `default_acr_values`) that we offer, in order of preference
    /// (`acr::requested`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// Our own `idp` parameter: the upstream provider (its id) to sign in
    /// with straight away, skipping the login page. Not an OIDC parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

impl AuthorizationRequest {
    /// Whether only a passkey sign-in can serve this request, so the login
    /// page takes no password.
    pub fn requires_passkey(&self) -> bool {
        acr::requires_passkey(&self.acr_values)
    }
}

/// Why the person must sign in (again) before a request can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// There is no session.
    Required,
    /// `prompt=login`, or the session is older than `max_age`.
    Again,
    /// The session's sign-in does not achieve the `acr` the client requires.
    WithPasskey,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// Never redirect: show the person an HTML error page, status 400.
    Page(OAuthError),
    /// Redirect back to the client with error, error_description, state and iss.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl AuthorizeError {
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Page(error) | Self::Redirect { error, .. } => error,
        }
    }
}

fn err(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
    OAuthError::new(code, description)
}

fn page(description: impl Into<Cow<'static, str>>) -> AuthorizeError {
    AuthorizeError::Page(invalid_request(description).with_status(400))
}

/// RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid, or
/// mismatching redirection URI, or if the client identifier is missing or
/// invalid, the authorization server SHOULD inform the resource owner of the
/// error and MUST NOT automatically redirect the user-agent."
pub fn requested_client_id(params: &Params) -> Result<&str, AuthorizeError> {
    if params.is_repeated("client_id") {
        return Err(page("the `client_id` parameter is repeated"));
    }
    params
        .get("client_id")
        .ok_or_else(|| page("the `client_id` parameter is required"))
}

/// Validates an authorization request in the order the specifications need:
/// first the client and the redirect URI, whose errors are shown on a page
/// (RFC 6749 §4.1.2.1); then everything else, whose errors are redirected
/// with the request's `state` ("REQUIRED if a `state` parameter was present
/// in the client authorization request"). `allowed_resources` is the
/// deployment's allow-list (`ALLOWED_RESOURCES`).
pub fn validate(
    params: &Params,
    client: Option<&ClientRecord>,
    allowed_resources: &[String],
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client_id = requested_client_id(params)?;
    let client = client
        .filter(|c| c.client_id == client_id)
        .ok_or_else(|| page("unknown client_id"))?;
    let redirect_uri = resolve_redirect_uri(params, client)?;
    let state = match params.is_repeated("state") {
        true => None,
        false => params.get("state").map(str::to_owned),
    };
    validate_redirectable(params, client, &redirect_uri, allowed_resources).map_err(|error| AuthorizeError::Redirect {
        redirect_uri,
        state,
        error,
    })
}

/// A request that waited on a login or consent page meets the client as it
/// is now, before a code is issued: an update or deletion made meanwhile
/// may have dropped the redirect URI (a page, never a redirect to it),
/// the code grant, a scope or a resource, or made the client public (PKCE
/// then required).
pub fn recheck(
    req: &AuthorizationRequest,
    client: &ClientRecord,
    allowed_resources: &[String],
) -> Result<(), AuthorizeError> {
    if !client.has_redirect_uri(&req.redirect_uri) {
        return Err(page("redirect_uri is no longer registered for this client"));
    }
    let allowed = scope::allowed_for_client(client);
    let refused = if !client.allows_grant(GrantType::AuthorizationCode) {
        Some(err(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization_code grant",
        ))
    } else if let Some(bad) = req.scopes.iter().find(|s| !allowed.contains(s)) {
        Some(err(
            ErrorCode::InvalidScope,
            format!("the scope `{bad}` is not allowed for this client"),
        ))
    } else if req.code_challenge.is_none() && !client.is_confidential() {
        Some(invalid_request("PKCE (S256) is required for public clients"))
    } else {
        check_resources(&req.resources, client, allowed_resources).err()
    };
    match refused {
        Some(error) => Err(AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri.clone(),
            state: req.state.clone(),
            error,
        }),
        None => Ok(()),
    }
}

/// RFC 9700 §4.1.3: "the authorization server MUST compare the two URIs
/// using simple string comparison". RFC 6749 §3.1.2.3: with a single
/// registered URI the parameter may be omitted, but OIDC Core §3.1.2.1
/// makes `redirect_uri` REQUIRED in an OpenID request.
fn resolve_redirect_uri(params: &Params, client: &ClientRecord) -> Result<String, AuthorizeError> {
    if params.is_repeated("redirect_uri") {
        return Err(page("the `redirect_uri` parameter is repeated"));
    }
    if let Some(uri) = params.get("redirect_uri") {
        return match client.has_redirect_uri(uri) {
            true => Ok(uri.to_owned()),
            false => Err(page("redirect_uri is not registered for this client")),
        };
    }
    let scope = params.get("scope").or(client.metadata.scope.as_deref()).unwrap_or("");
    if scope.split(' ').any(|s| s == "openid") {
        return Err(page("the `redirect_uri` parameter is required for OpenID requests"));
    }
    match client.metadata.redirect_uris.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(page("the `redirect_uri` parameter is required")),
    }
}

/// The checks whose errors go back to the client, in order.
fn validate_redirectable(
    params: &Params,
    client: &ClientRecord,
    redirect_uri: &str,
    allowed_resources: &[String],
) -> OAuthResult<AuthorizationRequest> {
    if let Some(name) = RECOGNISED.split_whitespace().find(|n| params.is_repeated(n)) {
        return Err(invalid_request(format!("the `{name}` parameter is repeated")));
    }
    reject_unsupported(params)?;
    check_response_type(params, client)?;
    let scopes = requested_scopes(params, client)?;
    let code_challenge = check_pkce(params, client)?;
    let prompt = parse_prompt(params.get("prompt"))?;
    let max_age = parse_max_age(params.get("max_age"))?;
    let resources = parse_resources(params.get_all("resource"))?;
    check_resources(&resources, client, allowed_resources)?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: bounded(params, "state", MAX_STATE)?,
        nonce: bounded(params, "nonce", MAX_NONCE)?,
        code_challenge,
        prompt,
        max_age,
        login_hint: bounded(params, "login_hint", MAX_LOGIN_HINT)?,
        resources,
        acr_values: acr::requested(params.get("acr_values"), &client.metadata.default_acr_values),
        idp: bounded(params, "idp", MAX_IDP)?,
    })
}

/// RFC 8707 §2: which resources a client may ask for is the server's
/// policy, a refused one `invalid_target`; here, the deployment's
/// allow-list and the client's.
fn check_resources(resources: &[String], client: &ClientRecord, allowed: &[String]) -> OAuthResult<()> {
    check_allowed(resources, allowed, client.metadata.allowed_resources.as_deref())
}

/// OIDC Core §6.1 / §6.2 / §7.2.1: an OP that does not support `request`,
/// `request_uri` or `registration` returns `request_not_supported`,
/// `request_uri_not_supported` or `registration_not_supported`.
fn reject_unsupported(params: &Params) -> OAuthResult<()> {
    for (name, code, what) in [
        (
            "request",
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ),
        (
            "request_uri",
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ),
        (
            "registration",
            ErrorCode::RegistrationNotSupported,
            "`registration` is not supported",
        ),
    ] {
        if params.contains(name) {
            return Err(OAuthError::new(code, what));
        }
    }
    Ok(())
}

/// RFC 6749 §4.1.1: `response_type` "REQUIRED. Value MUST be set to
/// `code`"; §4.1.2.1 `unsupported_response_type` / `unauthorized_client`.
/// OAuth 2.0 Multiple Response Types §2.1: `response_mode` `query` is the
/// default (and only) mode for `code`.
fn check_response_type(params: &Params, client: &ClientRecord) -> OAuthResult<()> {
    use ErrorCode::*;
    let (code, description) = match (params.get("response_type"), params.get("response_mode")) {
        (None, _) => (InvalidRequest, "the `response_type` parameter is required"),
        (Some(t), _) if t != "code" => (UnsupportedResponseType, "only response_type `code` is supported"),
        _ if !client.allows_grant(GrantType::AuthorizationCode) => (
            UnauthorizedClient,
            "the client may not use the authorization_code grant",
        ),
        (_, Some(m)) if m != "query" => (InvalidRequest, "only response_mode `query` is supported"),
        _ => return Ok(()),
    };
    Err(err(code, description))
}

/// RFC 6749 §3.3: "If the client omits the scope parameter when requesting
/// authorization, the authorization server MUST either process the request
/// using a pre-defined default value or fail the request indicating an
/// invalid scope." `offline_access` is dropped, not refused, when the client
/// may not receive refresh tokens (OIDC Core §11: the OP "MUST ignore the
/// offline_access request" when it cannot honour it).
fn requested_scopes(params: &Params, client: &ClientRecord) -> OAuthResult<Vec<String>> {
    let mut scopes = scope::parse_scope(params.get("scope").unwrap_or(""))?;
    if scopes.is_empty() {
        scopes = match &client.metadata.scope {
            Some(default) => scope::parse_scope(default)?,
            None => return Err(err(ErrorCode::InvalidScope, "scope is required")),
        };
    }
    let allowed = scope::allowed_for_client(client);
    if let Some(bad) = scopes.iter().find(|s| !allowed.contains(s)) {
        return Err(err(
            ErrorCode::InvalidScope,
            format!("the scope `{bad}` is not allowed for this client"),
        ));
    }
    if !client.allows_grant(GrantType::RefreshToken) {
        scopes.retain(|s| s != "offline_access");
    }
    if scopes.is_empty() {
        return Err(err(ErrorCode::InvalidScope, "no usable scope was requested"));
    }
    Ok(scopes)
}

/// RFC 7636 §4.3: `code_challenge_method` "defaults to `plain` if not present
/// in the request", and RFC 9700 §2.1.1 says clients "SHOULD use `S256`", so
/// we take S256 only and refuse a challenge without a method. RFC 7636
/// §4.2: a challenge is `43*128unreserved`; for S256 it is exactly 43.
/// RFC 9700 §2.1.1: "Authorization servers MUST support PKCE" and public
/// clients MUST use it.
fn check_pkce(params: &Params, client: &ClientRecord) -> OAuthResult<Option<String>> {
    let challenge = params.get("code_challenge");
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let problem = match (params.get("code_challenge_method"), challenge) {
        (Some(m), _) if m != "S256" => "only S256 is supported as code_challenge_method",
        (Some(_), None) => "code_challenge_method was sent without code_challenge",
        (None, Some(_)) => "code_challenge_method is required; only S256 is supported",
        (_, Some(c)) if c.len() != S256_CHALLENGE_LEN || !c.bytes().all(unreserved) => {
            "code_challenge must be 43 characters of base64url"
        }
        (_, None) if !client.is_confidential() => "PKCE (S256) is required for public clients",
        _ => return Ok(challenge.map(str::to_owned)),
    };
    Err(invalid_request(problem))
}

/// OIDC Core §3.1.2.1 `prompt`: "If this parameter contains `none` with any
/// other value, an error is returned." Values we do not offer (such as
/// `select_account`) are refused rather than silently ignored.
fn parse_prompt(value: Option<&str>) -> OAuthResult<Prompt> {
    let mut prompt = Prompt::default();
    for token in value.unwrap_or("").split(' ').filter(|t| !t.is_empty()) {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => return Err(invalid_request(format!("unsupported prompt value `{token}`"))),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(invalid_request("prompt `none` cannot be combined with other values"));
    }
    Ok(prompt)
}

/// OIDC Core §3.1.2.1 `max_age`: "Maximum Authentication Age. Specifies the
/// allowable elapsed time in seconds": a non-negative integer.
fn parse_max_age(value: Option<&str>) -> OAuthResult<Option<u64>> {
    let Some(text) = value else { return Ok(None) };
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    match text.parse() {
        Ok(seconds) if digits => Ok(Some(seconds)),
        _ => Err(invalid_request("max_age must be a non-negative integer")),
    }
}

fn bounded(params: &Params, name: &str, max: usize) -> OAuthResult<Option<String>> {
    match params.get(name) {
        Some(v) if v.len() > max => Err(invalid_request(format!(
            "the `{name}` parameter is longer than {max} characters"
        ))),
        v => Ok(v.map(str::to_owned)),
    }
}

/// RFC 6749 §4.1.2: the code and `state` are added "to the query component
/// of the redirection URI using the application/x-www-form-urlencoded
/// format"; RFC 9207 §2: "the authorization server MUST include the `iss`
/// parameter".
pub fn success_redirect(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    with_query(
        redirect_uri,
        &[("code", Some(code)), ("state", state), ("iss", Some(issuer))],
    )
}

/// RFC 6749 §4.1.2.1 error response, with RFC 9207 `iss`.
/// `error_description` "MUST NOT include characters outside the set
/// %x20-21 / %x23-5B / %x5D-7E", so others are replaced.
pub fn error_redirect(redirect_uri: &str, error: &OAuthError, state: Option<&str>, issuer: &str) -> String {
    let description: String = error
        .description
        .chars()
        .map(|c| match c {
            '"' => '\'',
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect();
    with_query(
        redirect_uri,
        &[
            ("error", Some(error.code.as_str())),
            ("error_description", Some(&description)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}

/// RFC 6749 §3.1.2: the redirection URI "MAY include an
/// application/x-www-form-urlencoded formatted query component, which MUST
/// be retained when adding additional query parameters".
fn with_query(redirect_uri: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let present = pairs.iter().filter_map(|(k, v)| v.map(|v| (*k, v)));
    if let Ok(mut url) = Url::parse(redirect_uri) {
        url.query_pairs_mut().extend_pairs(present);
        return url.into();
    }
    // Registered URIs always parse; keep a plain fallback all the same.
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(present)
        .finish();
    let joiner = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{joiner}{query}")
}

/// Whether, and why, the person must sign in before the request goes on;
/// each rule is one of the conditions below.
///
/// OIDC Core §3.1.2.1: `prompt=login` means "The Authorization Server
/// SHOULD prompt the End-User for reauthentication"; with `max_age` "the
/// OP MUST attempt to actively re-authenticate the End-User" once more than
/// that many seconds have passed, and "max_age=0 is equivalent to
/// prompt=login" (a login earlier in the same second is not fresh enough).
/// A login made during this very request satisfies both, or `prompt=login`
/// would ask forever. The `acr` a client requires (`acr::satisfies`) is
/// not about freshness: a sign-in that does not achieve it never serves,
/// made during this request or not.
pub fn needs_login(
    req: &AuthorizationRequest,
    session: Option<&SessionRecord>,
    now: u64,
    logged_in_this_request: bool,
) -> Option<SignIn> {
    let Some(session) = session else {
        return Some(SignIn::Required);
    };
    if !acr::satisfies(&req.acr_values, session.own_amr()) {
        return Some(SignIn::WithPasskey);
    }
    if logged_in_this_request {
        return None;
    }
    let stale = req.prompt.login
        || req
            .max_age
            .is_some_and(|max| max == 0 || now.saturating_sub(session.auth_time) > max);
    stale.then_some(SignIn::Again)
}

/// OIDC Core §3.1.2.1: `prompt=consent` means "The Authorization Server
/// SHOULD prompt the End-User for consent before returning information to
/// the Client". Otherwise consent is asked only when the remembered grant
/// does not cover every requested scope. Consent given during this request
/// covers the request.
pub fn needs_consent(req: &AuthorizationRequest, remembered: Option<&[String]>, consented_this_request: bool) -> bool {
    if consented_this_request {
        return false;
    }
    req.prompt.consent || !remembered.is_some_and(|r| scope::is_subset(&req.scopes, r))
}

/// OIDC Core §3.1.2.1 `prompt=none`: "The Authorization Server MUST NOT
/// display any authentication or consent user interface pages"; §3.1.2.6
/// names the errors: `login_required`, `consent_required`.
pub fn interaction_error(req: &AuthorizationRequest, login: Option<SignIn>, consent: bool) -> Option<OAuthError> {
    if !req.prompt.none {
        return None;
    }
    let description = match login {
        Some(SignIn::Required) => "the person must sign in",
        Some(SignIn::Again) => "the person must sign in again",
        Some(SignIn::WithPasskey) => "the client requires a sign-in with a passkey (acr phr)",
        None => return consent.then(|| err(ErrorCode::ConsentRequired, "the person must give consent")),
    };
    Some(err(ErrorCode::LoginRequired, description))
}

/// Each scope with the words the consent page shows for it.
pub fn scope_descriptions(scopes: &[String]) -> Vec<(String, String)> {
    let words = |s: &str| match s {
        "openid" => "Sign you in with your account",
        "profile" => "Your name, picture and other profile details",
        "email" => "Your email address",
        "address" => "Your postal address",
        "phone" => "Your phone number",
        "offline_access" => "Stay signed in to the app when you are away (refresh tokens)",
        _ => "",
    };
    scopes
        .iter()
        .map(|s| match words(s) {
            "" => (s.clone(), s.clone()),
            w => (s.clone(), w.to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// RP-Initiated Logout 1.0 §3: back to the client's registered
/// `post_logout_redirect_uri`, with its `state` when it sent one.
pub fn post_logout_redirect(uri: &str, state: Option<&str>) -> String {
    with_query(uri, &[("state", state)])
}
