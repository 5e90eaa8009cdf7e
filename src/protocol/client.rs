//! Client metadata for dynamic registration (RFC 7591) and its management
//! (RFC 7592), with the OpenID Connect Dynamic Client Registration 1.0 fields
//! we support. `parse_*` turns a JSON body into validated [`ClientMetadata`];
//! `build_client_information` turns a stored [`ClientRecord`] back into the
//! wire response. Secrets are only ever held as hashes.

use super::object::Flattened;
use crate::protocol::cors::origin_of;
use crate::protocol::encoding::secret_matches;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::jose::SigningAlg;
use crate::protocol::open_registration::SelfRegistered;
use crate::protocol::privilege::{check_update, Manager};
use crate::protocol::resource::check_uri;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Size limits, so that one registration cannot bloat storage.
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 200;
const MAX_CONTACTS: usize = 10;
const MAX_CONTACT_LEN: usize = 320;
const MAX_ACR_VALUES: usize = 10;
pub const MAX_SCOPE_LEN: usize = 2000;

/// RFC 7591 §2 `token_endpoint_auth_method` values we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// RFC 6749 §2.1: a confidential client can keep a credential secret;
    /// `none` marks a public client (RFC 7591 §2).
    pub fn is_confidential(self) -> bool {
        self != Self::None
    }
}

/// RFC 7591 §2 `grant_types` values we support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::AuthorizationCode, Self::RefreshToken, Self::ClientCredentials]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
}

/// OIDC Registration §2 `application_type`: decides which redirect URIs are
/// acceptable (RFC 8252 for native apps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    #[default]
    Web,
    Native,
}

/// Validated, normalised client metadata: what we store and echo back.
/// Serde defaults here are for reading stored records; the RFC defaults are
/// applied by [`parse_client_metadata`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientMetadata {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: AuthMethod,
    /// Always serialised: an empty list differs from the RFC 7591 default.
    pub grant_types: Vec<GrantType>,
    /// Always serialised, for the same reason as `grant_types`.
    pub response_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub id_token_signed_response_alg: SigningAlg,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// OIDC Registration §2: the `acr` values asked for when a request has
    /// no `acr_values`, in order of preference; stored as registered, those
    /// we do not offer ignored at use (`acr::requested`). Descriptive: it
    /// can only make the client's own sign-ins stricter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default_acr_values: Vec<String>,
    /// Our own member (no specification defines one; Ory Hydra's name):
    /// origins, besides those of `redirect_uris`, whose pages may read the
    /// answers of `/token`, `/revoke` and `/userinfo` (CORS). Descriptive,
    /// like redirect URIs: the client may change it itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_cors_origins: Vec<String>,
    pub application_type: ApplicationType,
    /// Our own member, not an RFC 7591 one: the client is a resource server
    /// and may introspect tokens issued to other clients (RFC 7662 §2.2).
    /// Privileged: only the admin sets it (`protocol::privilege`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resource_server: bool,
    /// Our own member: the RFC 8707 resources the client may get tokens
    /// for (`protocol::resource`); absent allows any, `[]` none.
    /// Privileged: only the admin sets it (`protocol::privilege`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_resources: Option<Vec<String>>,
}

fn bad_metadata(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description.into())
}

fn bad_redirect(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, description.into())
}

/// A member of the request object. JSON `null` counts as omitted: RFC 7592
/// §2.2 treats omitted fields as "null or empty values".
fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn opt_string(obj: &Map<String, Value>, name: &str, max: usize) -> OAuthResult<Option<String>> {
    let Some(v) = member(obj, name) else {
        return Ok(None);
    };
    let s = v
        .as_str()
        .ok_or_else(|| bad_metadata(format!("{name} must be a string")))?;
    if s.chars().count() > max {
        return Err(bad_metadata(format!("{name} is longer than {max} characters")));
    }
    Ok(Some(s.to_owned()))
}

/// An array of strings, at most `max_items` long, each at most `max_len`.
fn opt_strings(
    obj: &Map<String, Value>,
    name: &str,
    max_items: usize,
    max_len: usize,
) -> OAuthResult<Option<Vec<String>>> {
    let Some(v) = member(obj, name) else {
        return Ok(None);
    };
    let type_error = || bad_metadata(format!("{name} must be an array of strings"));
    let items = v.as_array().ok_or_else(type_error)?;
    if items.len() > max_items {
        return Err(bad_metadata(format!("{name} has more than {max_items} entries")));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let s = item.as_str().ok_or_else(type_error)?;
        if s.chars().count() > max_len {
            return Err(bad_metadata(format!(
                "{name} has an entry longer than {max_len} characters"
            )));
        }
        out.push(s.to_owned());
    }
    Ok(Some(out))
}

fn opt_bool(obj: &Map<String, Value>, name: &str) -> OAuthResult<Option<bool>> {
    member(obj, name)
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| bad_metadata(format!("{name} must be a boolean")))
        })
        .transpose()
}

/// `localhost`, `127.0.0.1` or `[::1]` (RFC 8252 §7.3 loopback).
pub fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// An absolute `https` URL, or `http` on a loopback host, without userinfo.
/// Returns why not, for the caller to wrap in its own error code.
pub fn check_web_url(raw: &str) -> Result<Url, &'static str> {
    let url = Url::parse(raw).map_err(|_| "is not an absolute URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain userinfo");
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(url.host()) => Ok(url),
        _ => Err("must use https (http is allowed only on loopback hosts)"),
    }
}

/// RFC 8252 §7.1: a private-use scheme "based on a domain name ... in
/// reverse order", which we recognise by the '.' it must contain.
fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.')
}

/// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI"
/// and "MUST NOT include a fragment component". RFC 9700 §2.6 and RFC 8252
/// §8.3 decide which schemes and hosts are acceptable.
fn validate_redirect_uri(field: &str, raw: &str, app: ApplicationType) -> OAuthResult<()> {
    let fail = |why: &str| bad_redirect(format!("{field}: {raw:?} {why}"));
    let url = Url::parse(raw).map_err(|_| fail("is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(fail("must not contain a fragment"));
    }
    if app == ApplicationType::Native && is_private_use_scheme(url.scheme()) {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("must not contain userinfo"));
        }
        return Ok(());
    }
    check_web_url(raw).map(|_| ()).map_err(fail)
}

fn redirect_list(obj: &Map<String, Value>, field: &str, app: ApplicationType) -> OAuthResult<Vec<String>> {
    let uris = opt_strings(obj, field, MAX_URIS, MAX_URI_LEN)?.unwrap_or_default();
    for uri in &uris {
        validate_redirect_uri(field, uri, app)?;
    }
    Ok(uris)
}

/// `allowed_cors_origins`: each entry an https (or loopback http) origin,
/// written exactly as a browser sends it in `Origin`, since that is how it
/// is compared.
fn origin_list(obj: &Map<String, Value>, field: &str) -> OAuthResult<Vec<String>> {
    let origins = opt_strings(obj, field, MAX_URIS, MAX_URI_LEN)?.unwrap_or_default();
    for raw in &origins {
        let url = check_web_url(raw).map_err(|why| bad_metadata(format!("{field}: {raw:?} {why}")))?;
        match origin_of(&url) {
            Some(origin) if origin == *raw => {}
            origin => {
                return Err(bad_metadata(format!(
                    "{field}: {raw:?} is not an origin as a browser sends it (scheme://host[:port]: {:?})",
                    origin.unwrap_or_default()
                )))
            }
        }
    }
    Ok(origins)
}

/// `allowed_resources`: allow-list entries (`protocol::resource`), each an
/// absolute URI without fragment.
fn allowed_resources(obj: &Map<String, Value>) -> OAuthResult<Option<Vec<String>>> {
    let entries = opt_strings(obj, "allowed_resources", MAX_URIS, MAX_URI_LEN)?;
    for entry in entries.iter().flatten() {
        check_uri(entry).map_err(|why| bad_metadata(format!("allowed_resources: {entry:?} {why}")))?;
    }
    Ok(entries)
}

/// `default_acr_values`: "Array of strings" (OIDC Registration §2), each
/// one `acr` value, which in `acr_values` are separated by spaces.
fn acr_value_list(obj: &Map<String, Value>) -> OAuthResult<Vec<String>> {
    let values = opt_strings(obj, "default_acr_values", MAX_ACR_VALUES, MAX_NAME_LEN)?.unwrap_or_default();
    if let Some(bad) = values.iter().find(|v| v.is_empty() || v.contains(char::is_whitespace)) {
        return Err(bad_metadata(format!(
            "default_acr_values: {bad:?} is not an acr value (empty or with a space)"
        )));
    }
    Ok(values)
}

fn informational_uri(obj: &Map<String, Value>, field: &str) -> OAuthResult<Option<String>> {
    let uri = opt_string(obj, field, MAX_URI_LEN)?;
    if let Some(raw) = &uri {
        check_web_url(raw).map_err(|why| bad_metadata(format!("{field} {why}")))?;
    }
    Ok(uri)
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, joined by
/// single spaces. Duplicates are refused rather than silently merged.
pub fn validate_scope(scope: &str) -> OAuthResult<()> {
    let allowed = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    let mut seen: Vec<&str> = Vec::new();
    for token in scope.split(' ') {
        if token.is_empty() || !token.bytes().all(allowed) {
            return Err(bad_metadata(format!("scope has an invalid scope token {token:?}")));
        }
        if seen.contains(&token) {
            return Err(bad_metadata(format!("scope lists {token:?} twice")));
        }
        seen.push(token);
    }
    Ok(())
}

fn parse_enum<T>(obj: &Map<String, Value>, field: &str, parse: fn(&str) -> Option<T>) -> OAuthResult<Option<T>> {
    match opt_string(obj, field, MAX_NAME_LEN)? {
        None => Ok(None),
        Some(s) => parse(&s)
            .map(Some)
            .ok_or_else(|| bad_metadata(format!("{field} {s:?} is not supported"))),
    }
}

fn parse_application_type(s: &str) -> Option<ApplicationType> {
    match s {
        "web" => Some(ApplicationType::Web),
        "native" => Some(ApplicationType::Native),
        _ => None,
    }
}

/// `grant_types` as sent (duplicates merged), or `None` when omitted.
fn parse_grant_types(obj: &Map<String, Value>) -> OAuthResult<Option<Vec<GrantType>>> {
    let Some(names) = opt_strings(obj, "grant_types", 8, MAX_NAME_LEN)? else {
        return Ok(None);
    };
    let mut grants = Vec::new();
    for name in &names {
        let g = GrantType::parse(name).ok_or_else(|| bad_metadata(format!("grant type {name:?} is not supported")))?;
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    Ok(Some(grants))
}

/// `response_types` as sent (duplicates merged), or `None` when omitted.
fn parse_response_types(obj: &Map<String, Value>) -> OAuthResult<Option<Vec<String>>> {
    let mut responses = opt_strings(obj, "response_types", 8, MAX_NAME_LEN)?;
    if let Some(list) = &mut responses {
        if let Some(bad) = list.iter().find(|r| *r != "code") {
            return Err(bad_metadata(format!("response type {bad:?} is not supported")));
        }
        list.dedup();
    }
    Ok(responses)
}

/// `grant_types` and `response_types` with their RFC 7591 §2 defaults
/// (`authorization_code` / `code`). When only one of the two is sent, the
/// other defaults to its consistent counterpart, so a client registering
/// `grant_types: ["client_credentials"]` need not also send
/// `response_types: []`.
fn with_defaults(grants: Option<Vec<GrantType>>, responses: Option<Vec<String>>) -> (Vec<GrantType>, Vec<String>) {
    match (grants, responses) {
        (Some(g), Some(r)) => (g, r),
        (Some(g), None) => {
            let r = if g.contains(&GrantType::AuthorizationCode) {
                vec!["code".into()]
            } else {
                vec![]
            };
            (g, r)
        }
        (None, Some(r)) if r.is_empty() => (vec![], r),
        (None, _) => (vec![GrantType::AuthorizationCode], vec!["code".into()]),
    }
}

/// Why a registration is invalid, and the member that says so when one
/// does: a form shows the error next to that member's field. The JSON API
/// sends only the error (`error`, `error_description`), through `From`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Option<&'static str>,
    pub error: OAuthError,
}

/// Every error of a registration, in the order the members are read;
/// never empty. As an [`OAuthError`], the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<Invalid>);

impl From<FieldErrors> for OAuthError {
    fn from(mut all: FieldErrors) -> Self {
        all.0.swap_remove(0).error
    }
}

impl From<OAuthError> for FieldErrors {
    fn from(error: OAuthError) -> Self {
        FieldErrors(vec![Invalid { field: None, error }])
    }
}

fn invalid_at(field: &'static str, error: OAuthError) -> Invalid {
    Invalid {
        field: Some(field),
        error,
    }
}

/// The errors of every member, in the order the members are read.
#[derive(Default)]
struct Errors(Vec<Invalid>);

impl Errors {
    /// `member`'s value, or its default with the error noted.
    fn take<T: Default>(&mut self, field: &'static str, member: OAuthResult<T>) -> T {
        match member {
            Ok(value) => value,
            Err(error) => {
                self.note(field, error);
                T::default()
            }
        }
    }

    // Once, not in each `take`.
    #[inline(never)]
    fn note(&mut self, field: &'static str, error: OAuthError) {
        self.0.push(invalid_at(field, error));
    }
}

/// RFC 7591 §2.1: grant types and response types must agree; we refuse
/// inconsistent combinations rather than guess.
fn validate_consistency(m: &ClientMetadata) -> Result<(), Invalid> {
    let has = |g| m.grant_types.contains(&g);
    let meta = |field, description: &'static str| Err(invalid_at(field, bad_metadata(description)));
    if m.grant_types.is_empty() {
        return meta("grant_types", "grant_types must not be empty");
    }
    if has(GrantType::AuthorizationCode) != m.response_types.iter().any(|r| r == "code") {
        return meta(
            "response_types",
            "response type \"code\" and grant type \"authorization_code\" must be registered together",
        );
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
        return meta(
            "grant_types",
            "grant type \"refresh_token\" requires \"authorization_code\"",
        );
    }
    if has(GrantType::ClientCredentials) && !m.token_endpoint_auth_method.is_confidential() {
        return meta(
            "token_endpoint_auth_method",
            "grant type \"client_credentials\" requires a client authentication method other than \"none\"",
        );
    }
    if has(GrantType::AuthorizationCode) && m.redirect_uris.is_empty() {
        return Err(invalid_at(
            "redirect_uris",
            bad_redirect("redirect_uris is required for the authorization_code grant"),
        ));
    }
    Ok(())
}

/// Parses and validates an RFC 7591 §2 registration request.
/// RFC 7591 §2: "The authorization server MUST ignore any client metadata
/// sent by the client that it does not understand", so unknown members are
/// dropped. The error is the first of [`parse_metadata_fields`].
pub fn parse_client_metadata(body: &Value) -> OAuthResult<ClientMetadata> {
    Ok(parse_metadata_fields(body)?)
}

/// [`parse_client_metadata`] with every member's error, not only the
/// first, each with the member it is about (a form shows them all at
/// once). The agreement between members
/// (`validate_consistency`) is judged once every member is valid.
pub fn parse_metadata_fields(body: &Value) -> Result<ClientMetadata, FieldErrors> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad_metadata("the request body must be a JSON object"))?;
    let mut e = Errors::default();
    let application_type = e
        .take(
            "application_type",
            parse_enum(obj, "application_type", parse_application_type),
        )
        .unwrap_or_default();
    let grant_types = e.take("grant_types", parse_grant_types(obj));
    let response_types = e.take("response_types", parse_response_types(obj));
    let (grant_types, response_types) = with_defaults(grant_types, response_types);
    let scope = e.take("scope", opt_string(obj, "scope", MAX_SCOPE_LEN));
    if let Some(s) = &scope {
        e.take("scope", validate_scope(s));
    }
    let auth_method = e.take(
        "token_endpoint_auth_method",
        parse_enum(obj, "token_endpoint_auth_method", AuthMethod::parse),
    );
    let alg = e.take(
        "id_token_signed_response_alg",
        parse_enum(obj, "id_token_signed_response_alg", SigningAlg::parse),
    );
    let metadata = ClientMetadata {
        redirect_uris: e.take("redirect_uris", redirect_list(obj, "redirect_uris", application_type)),
        token_endpoint_auth_method: auth_method.unwrap_or_default(),
        grant_types,
        response_types,
        client_name: e.take("client_name", opt_string(obj, "client_name", MAX_NAME_LEN)),
        client_uri: e.take("client_uri", informational_uri(obj, "client_uri")),
        logo_uri: e.take("logo_uri", informational_uri(obj, "logo_uri")),
        policy_uri: e.take("policy_uri", informational_uri(obj, "policy_uri")),
        tos_uri: e.take("tos_uri", informational_uri(obj, "tos_uri")),
        contacts: e
            .take("contacts", opt_strings(obj, "contacts", MAX_CONTACTS, MAX_CONTACT_LEN))
            .unwrap_or_default(),
        scope,
        id_token_signed_response_alg: alg.unwrap_or_default(),
        post_logout_redirect_uris: e.take(
            "post_logout_redirect_uris",
            redirect_list(obj, "post_logout_redirect_uris", application_type),
        ),
        default_acr_values: e.take("default_acr_values", acr_value_list(obj)),
        allowed_cors_origins: e.take("allowed_cors_origins", origin_list(obj, "allowed_cors_origins")),
        application_type,
        resource_server: e
            .take("resource_server", opt_bool(obj, "resource_server"))
            .unwrap_or(false),
        allowed_resources: e.take("allowed_resources", allowed_resources(obj)),
    };
    if !e.0.is_empty() {
        return Err(FieldErrors(e.0));
    }
    validate_consistency(&metadata).map_err(|one| FieldErrors(vec![one]))?;
    Ok(metadata)
}

/// A registered client as stored in KV. Secrets are kept only as hashes
/// (`encoding::secret_hash`); the raw values are shown once, at issue.
/// Read by hand (`object::Flattened`), in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRecord {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    pub registration_access_token_hash: String,
    pub client_id_issued_at: u64,
    /// Present when the client registered itself, without an initial
    /// access token (`protocol::open_registration`); absent in records
    /// stored before open registration existed, which behave as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_registered: Option<SelfRegistered>,
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

impl<'de> Deserialize<'de> for ClientRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut record = Flattened::read(d)?;
        Ok(ClientRecord {
            client_id: record.take("client_id")?,
            client_secret_hash: record.take("client_secret_hash")?,
            registration_access_token_hash: record.take("registration_access_token_hash")?,
            client_id_issued_at: record.take("client_id_issued_at")?,
            self_registered: record.take("self_registered")?,
            metadata: record.rest()?,
        })
    }
}

impl ClientRecord {
    pub fn is_confidential(&self) -> bool {
        self.metadata.token_endpoint_auth_method.is_confidential()
    }

    /// A self-registered client never used within its time is gone, as if
    /// deleted, even before the store purges it.
    pub fn lapsed(&self, now: u64) -> bool {
        self.self_registered.is_some_and(|s| s.lapsed(now))
    }

    /// Constant-time check of a presented client secret; a public client has
    /// no secret, so nothing matches.
    pub fn verify_secret(&self, presented: &str) -> bool {
        match &self.client_secret_hash {
            Some(hash) if self.is_confidential() => secret_matches(presented, hash),
            _ => false,
        }
    }

    /// RFC 7592 §1: the registration access token authenticates every call
    /// to the client configuration endpoint.
    pub fn verify_registration_token(&self, presented: &str) -> bool {
        secret_matches(presented, &self.registration_access_token_hash)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.metadata.grant_types.contains(&grant)
    }

    /// RFC 7662 §2.2: when "the protected resource is not allowed to
    /// introspect this particular token", the answer is `"active": false`.
    /// A client may introspect the tokens issued to it; only a client the
    /// admin registered as a resource server may introspect others'.
    pub fn may_introspect(&self, token_client_id: &str) -> bool {
        self.metadata.resource_server || self.client_id == token_client_id
    }

    /// RFC 9700 §4.1.3: redirect URIs are compared by exact string match,
    /// but for the port of a loopback IP one (RFC 8252 §7.3,
    /// [`loopback_sans_port`]).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        let loopback = loopback_sans_port(uri);
        self.metadata
            .redirect_uris
            .iter()
            .any(|u| u == uri || (loopback.is_some() && loopback_sans_port(u) == loopback))
    }

    /// Whether a page of `origin` may read this client's answers from
    /// `/token`, `/revoke` and `/userinfo`: the origin of one of its
    /// redirect URIs (where its pages receive the code), or one it lists in
    /// `allowed_cors_origins`. Compared exactly: a loopback redirect URI's
    /// any-port rule is for native apps, which send no `Origin`.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let m = &self.metadata;
        m.allowed_cors_origins.iter().any(|o| o == origin)
            || m.redirect_uris
                .iter()
                .any(|u| Url::parse(u).ok().and_then(|u| origin_of(&u)).as_deref() == Some(origin))
    }
}

/// RFC 8252 §7.3: "The authorization server MUST allow any port to be
/// specified at the time of the request for loopback IP redirect URIs".
/// For `http://127.0.0.1…` and `http://[::1]…`, the URI without its port
/// (as host and the rest); `None` for any other URI, which is then
/// compared whole. `localhost` is not a loopback IP (RFC 8252 §8.3: "NOT
/// RECOMMENDED", a name that resolves elsewhere), so its port counts.
fn loopback_sans_port(uri: &str) -> Option<(&str, &str)> {
    ["http://127.0.0.1", "http://[::1]"].into_iter().find_map(|host| {
        let rest = uri.strip_prefix(host)?;
        let rest = match rest.strip_prefix(':') {
            Some(port_and_rest) => {
                let end = port_and_rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(port_and_rest.len());
                let (port, rest) = port_and_rest.split_at(end);
                port.parse::<u16>().ok().filter(|p| *p != 0)?;
                rest
            }
            None => rest,
        };
        (rest.is_empty() || rest.starts_with(['/', '?'])).then_some((host, rest))
    })
}

/// RFC 7591 §3.2.1 / RFC 7592 §3 client information response: "all
/// registered metadata about the client" plus the server-issued values.
/// `client_secret` and `registration_access_token` appear only when the
/// caller has just issued them; the stored hashes never do.
pub fn build_client_information(
    record: &ClientRecord,
    client_secret: Option<&str>,
    registration_access_token: Option<&str>,
    registration_client_uri: &str,
) -> Value {
    let mut out = match serde_json::to_value(&record.metadata) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    out.insert("client_id".into(), record.client_id.clone().into());
    out.insert("client_id_issued_at".into(), record.client_id_issued_at.into());
    if let Some(secret) = client_secret {
        out.insert("client_secret".into(), secret.into());
    }
    if record.is_confidential() {
        // RFC 7591 §3.2.1: REQUIRED if a secret was issued; 0 = never expires.
        out.insert("client_secret_expires_at".into(), 0.into());
    }
    if let Some(token) = registration_access_token {
        out.insert("registration_access_token".into(), token.into());
    }
    out.insert("registration_client_uri".into(), registration_client_uri.into());
    Value::Object(out)
}

/// RFC 7592 §2.2 client update (PUT): a full replacement of the metadata.
/// "The client MUST include its client_id field in the request, and it MUST
/// be the same as its currently issued client identifier." "If the client
/// includes the client_secret field in the request, the value of this field
/// MUST match the currently issued client secret." The server-issued fields
/// (`registration_access_token`, `registration_client_uri`,
/// `client_secret_expires_at`, `client_id_issued_at`) are ignored, since
/// clients commonly echo the whole read response back. Only the admin may
/// change privileged metadata (`privilege::check_update`).
pub fn apply_update(existing: &ClientRecord, body: &Value, manager: Manager) -> Result<ClientMetadata, FieldErrors> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid_request("the request body must be a JSON object"))?;
    match obj.get("client_id").and_then(Value::as_str) {
        Some(id) if id == existing.client_id => {}
        _ => return Err(invalid_request("client_id must be present and equal the registered client_id").into()),
    }
    if let Some(secret) = obj.get("client_secret").filter(|v| !v.is_null()) {
        let matches = secret.as_str().is_some_and(|s| existing.verify_secret(s));
        if !matches {
            return Err(invalid_request("client_secret does not match the issued client secret").into());
        }
    }
    let requested = parse_metadata_fields(body)?;
    check_update(manager, &existing.metadata, &requested)?;
    Ok(requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::encoding::secret_hash;
    use serde_json::json;

    const CB: &str = "https://app.example/cb";

    /// A minimal valid body with `extra` merged over it (`null` removes).
    fn body(extra: Value) -> Value {
        let mut base = json!({ "redirect_uris": [CB] });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    }

    fn code_of(result: OAuthResult<ClientMetadata>) -> Option<ErrorCode> {
        result.err().map(|e| e.code)
    }

    const OK: Option<ErrorCode> = None;
    const META: Option<ErrorCode> = Some(ErrorCode::InvalidClientMetadata);
    const REDIRECT: Option<ErrorCode> = Some(ErrorCode::InvalidRedirectUri);

    #[test]
    fn defaults_follow_rfc_7591_section_2() {
        let m = parse_client_metadata(&body(json!({}))).unwrap();
        assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(m.response_types, vec!["code"]);
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(m.id_token_signed_response_alg, SigningAlg::RS256);
        assert_eq!(m.application_type, ApplicationType::Web);
        assert_eq!(m.redirect_uris, vec![CB]);
    }

    /// Runs `(expected error, body overrides)` cases through the parser.
    fn check(cases: &[(Option<ErrorCode>, Value)]) {
        for (expected, extra) in cases {
            let got = code_of(parse_client_metadata(&body(extra.clone())));
            assert_eq!(got, *expected, "{extra}");
        }
    }

    #[test]
    fn field_types_and_sizes() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let many: Vec<String> = (0..=MAX_URIS).map(|i| format!("{CB}{i}")).collect();
        check(&[
            (OK, json!({"software_id": 7, "jwks": {}})), // RFC 7591 §2: ignored
            (OK, json!({"client_name": "App"})),
            (META, json!({"client_name": 5})),
            (META, json!({"client_name": long})),
            (OK, json!({"contacts": ["ops@example.com"]})),
            (META, json!({"contacts": "ops@example.com"})),
            (META, json!({"contacts": [1]})),
            (META, json!({"redirect_uris": CB})),
            (META, json!({"redirect_uris": many})),
        ]);
    }

    #[test]
    fn enumerated_values() {
        check(&[
            (OK, json!({"token_endpoint_auth_method": "client_secret_post"})),
            (OK, json!({"token_endpoint_auth_method": "none"})),
            (META, json!({"token_endpoint_auth_method": "private_key_jwt"})),
            (META, json!({"token_endpoint_auth_method": true})),
            (OK, json!({"id_token_signed_response_alg": "ES256"})),
            (OK, json!({"id_token_signed_response_alg": "EdDSA"})),
            (META, json!({"id_token_signed_response_alg": "none"})),
            (OK, json!({"application_type": "native"})),
            (META, json!({"application_type": "desktop"})),
            (OK, json!({"resource_server": true})),
            (OK, json!({"resource_server": false})),
            (META, json!({"resource_server": "yes"})),
            (META, json!({"resource_server": 1})),
        ]);
    }

    #[test]
    fn scope_rules() {
        check(&[
            (OK, json!({"scope": "openid profile offline_access"})),
            (META, json!({"scope": ["openid"]})),
            (META, json!({"scope": "openid  profile"})),
            (META, json!({"scope": " openid"})),
            (META, json!({"scope": ""})),
            (META, json!({"scope": "open\"id"})),
            (META, json!({"scope": "a\\b"})),
            (META, json!({"scope": "caf\u{e9}"})),
            (META, json!({"scope": "openid openid"})),
        ]);
    }

    #[test]
    fn informational_uris() {
        check(&[
            (OK, json!({"client_uri": "https://app.example/"})),
            (OK, json!({"logo_uri": "http://127.0.0.1:8080/l.png"})),
            (META, json!({"policy_uri": "http://app.example/p"})),
            (META, json!({"tos_uri": "/tos"})),
            (META, json!({"tos_uri": 1})),
            (META, json!({"client_uri": "https://u:p@app.example/"})),
        ]);
    }

    #[test]
    fn allowed_resources_rules() {
        check(&[
            (
                OK,
                json!({"allowed_resources": ["https://mcp.example.com/mcp", "urn:api"]}),
            ),
            (OK, json!({"allowed_resources": []})),
            (META, json!({"allowed_resources": "https://mcp.example.com/mcp"})),
            (META, json!({"allowed_resources": ["/mcp"]})),
            (META, json!({"allowed_resources": ["https://mcp.example.com/#f"]})),
        ]);
        let m = |extra| parse_client_metadata(&body(extra)).unwrap().allowed_resources;
        assert_eq!(m(json!({})), None, "absent allows any");
        assert_eq!(m(json!({"allowed_resources": []})), Some(vec![]), "empty allows none");
    }

    #[test]
    fn default_acr_values_rules() {
        let many: Vec<String> = (0..=MAX_ACR_VALUES).map(|i| format!("urn:acr:{i}")).collect();
        check(&[
            (OK, json!({"default_acr_values": ["phr"]})),
            (
                OK,
                json!({"default_acr_values": ["urn:mace:incommon:iap:silver", "phr"]}),
            ),
            (OK, json!({"default_acr_values": []})),
            (META, json!({"default_acr_values": "phr"})),
            (META, json!({"default_acr_values": [1]})),
            (META, json!({"default_acr_values": [""]})),
            (META, json!({"default_acr_values": ["phr phrh"]})),
            (META, json!({"default_acr_values": many})),
        ]);
        let m = parse_client_metadata(&body(json!({"default_acr_values": ["urn:x", "phr"]}))).unwrap();
        assert_eq!(m.default_acr_values, ["urn:x", "phr"], "kept as registered");
        let out = serde_json::to_value(&m).unwrap();
        assert_eq!(out["default_acr_values"], json!(["urn:x", "phr"]));
        let plain = serde_json::to_value(parse_client_metadata(&body(json!({}))).unwrap()).unwrap();
        assert!(plain.get("default_acr_values").is_none());
    }

    #[test]
    fn null_counts_as_omitted() {
        let b = json!({"redirect_uris": [CB], "client_uri": null, "scope": null, "grant_types": null});
        let m = parse_client_metadata(&b).unwrap();
        assert_eq!((m.client_uri, m.scope), (None, None));
        assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
    }

    /// The members each error is about, in order.
    fn fields_of(b: &Value) -> Vec<Option<&'static str>> {
        let all = parse_metadata_fields(b).expect_err("invalid");
        all.0.iter().map(|i| i.field).collect()
    }

    #[test]
    fn every_error_names_its_member() {
        let cc = "client_credentials";
        for (field, extra) in [
            ("application_type", json!({"application_type": "desktop"})),
            ("grant_types", json!({"grant_types": ["password"]})),
            ("response_types", json!({"response_types": ["token"]})),
            ("scope", json!({"scope": 1})),
            ("scope", json!({"scope": "a a"})),
            ("token_endpoint_auth_method", json!({"token_endpoint_auth_method": "x"})),
            (
                "id_token_signed_response_alg",
                json!({"id_token_signed_response_alg": "none"}),
            ),
            ("redirect_uris", json!({"redirect_uris": ["http://app.example/cb"]})),
            ("client_name", json!({"client_name": 5})),
            ("client_uri", json!({"client_uri": "/x"})),
            ("logo_uri", json!({"logo_uri": "http://app.example/l.png"})),
            ("policy_uri", json!({"policy_uri": 1})),
            ("tos_uri", json!({"tos_uri": "x"})),
            ("contacts", json!({"contacts": "ops@example.com"})),
            (
                "post_logout_redirect_uris",
                json!({"post_logout_redirect_uris": ["/bye"]}),
            ),
            ("default_acr_values", json!({"default_acr_values": [""]})),
            (
                "allowed_cors_origins",
                json!({"allowed_cors_origins": ["https://a.example/"]}),
            ),
            ("resource_server", json!({"resource_server": "yes"})),
            ("allowed_resources", json!({"allowed_resources": ["/mcp"]})),
            // Members that disagree: the one a person would change.
            ("grant_types", json!({"grant_types": [], "response_types": []})),
            (
                "response_types",
                json!({"grant_types": [cc], "response_types": ["code"]}),
            ),
            (
                "grant_types",
                json!({"grant_types": ["refresh_token"], "response_types": []}),
            ),
            (
                "token_endpoint_auth_method",
                json!({"grant_types": [cc], "token_endpoint_auth_method": "none", "redirect_uris": null}),
            ),
            ("redirect_uris", json!({"redirect_uris": []})),
        ] {
            assert_eq!(fields_of(&body(extra.clone())), [Some(field)], "{extra}");
        }
        assert_eq!(fields_of(&json!([])), [None]);
    }

    #[test]
    fn all_errors_at_once_the_first_as_before() {
        let b = body(json!({"client_name": 5, "logo_uri": "/l", "scope": "", "redirect_uris": ["x"]}));
        assert_eq!(
            fields_of(&b),
            [
                Some("scope"),
                Some("redirect_uris"),
                Some("client_name"),
                Some("logo_uri")
            ]
        );
        let first = parse_client_metadata(&b).unwrap_err();
        assert_eq!(first, parse_metadata_fields(&b).unwrap_err().0[0].error);
        assert_eq!(first.description, "scope has an invalid scope token \"\"");
        // Agreement is judged once every member is valid: not here.
        let b = body(json!({"client_name": 5, "redirect_uris": []}));
        assert_eq!(fields_of(&b), [Some("client_name")]);
    }

    #[test]
    fn body_must_be_an_object() {
        for b in [json!([]), json!("x"), Value::Null] {
            assert_eq!(code_of(parse_client_metadata(&b)), META);
        }
    }

    #[test]
    fn redirect_uri_rules() {
        let long = format!("{CB}?q={}", "a".repeat(MAX_URI_LEN));
        let cases = [
            (OK, "https://app.example/cb?x=1"),
            (OK, "http://127.0.0.1:9000/cb"), // RFC 8252 §7.3 loopback
            (OK, "http://[::1]/cb"),
            (OK, "http://localhost:3000/cb"),
            (REDIRECT, "http://app.example/cb"),
            (REDIRECT, "/cb"),
            (REDIRECT, "https://app.example/cb#x"),
            (REDIRECT, "https://app.example/cb#"),
            (REDIRECT, "https://user:pw@app.example/cb"),
            (REDIRECT, "com.example.app:/cb"), // private-use: native only
            (REDIRECT, "javascript:alert(1)"),
            // A URI is ASCII (RFC 3986 §2; Cargo.toml's idna_adapter): an
            // internationalised host is registered in its A-label form.
            (REDIRECT, "https://bücher.example/cb"),
            (REDIRECT, "https://ｌｏｃａｌｈｏｓｔ/cb"),
            (OK, "https://xn--bcher-kva.example/cb"),
            (META, long.as_str()),
        ];
        for (expected, uri) in cases {
            for field in ["redirect_uris", "post_logout_redirect_uris"] {
                let got = code_of(parse_client_metadata(&body(json!({ field: [uri] }))));
                assert_eq!(got, expected, "{field}: {uri}");
            }
        }
    }

    #[test]
    fn native_apps_may_use_private_use_schemes() {
        let cases = [
            (OK, "com.example.app:/cb"),
            (OK, "http://127.0.0.1/cb"),
            (OK, "https://app.example/cb"),
            (REDIRECT, "myapp:/cb"),
            (REDIRECT, "com.example.app:/cb#frag"),
            (REDIRECT, "com.example.app://user@host/cb"),
        ];
        for (expected, uri) in cases {
            let b = body(json!({ "application_type": "native", "redirect_uris": [uri] }));
            assert_eq!(code_of(parse_client_metadata(&b)), expected, "{uri}");
        }
    }

    #[test]
    fn grant_and_response_type_consistency() {
        let cc = "client_credentials";
        check(&[
            (OK, json!({"grant_types": ["authorization_code", "refresh_token"]})),
            (META, json!({"grant_types": ["password"]})),
            (META, json!({"grant_types": ["implicit"]})),
            (META, json!({"grant_types": "authorization_code"})),
            (META, json!({"response_types": ["token"]})),
            (META, json!({"response_types": ["code id_token"]})),
            // RFC 7591 §2.1: `code` ⇔ `authorization_code`.
            (META, json!({"grant_types": [cc], "response_types": ["code"]})),
            (
                META,
                json!({"grant_types": ["authorization_code"], "response_types": []}),
            ),
            (META, json!({"grant_types": ["refresh_token"], "response_types": []})),
            (META, json!({"grant_types": [], "response_types": []})),
            (OK, json!({"grant_types": [cc], "redirect_uris": null})),
            (META, json!({"grant_types": [cc], "token_endpoint_auth_method": "none"})),
            (REDIRECT, json!({"redirect_uris": null})),
            (REDIRECT, json!({"redirect_uris": []})),
        ]);
    }

    #[test]
    fn response_types_default_from_grant_types() {
        let m = parse_client_metadata(&json!({"grant_types": ["client_credentials"]})).unwrap();
        assert!(m.response_types.is_empty());
        assert!(m.redirect_uris.is_empty());
        let m = parse_client_metadata(&body(
            json!({"grant_types": ["authorization_code", "authorization_code"]}),
        ));
        assert_eq!(m.unwrap().grant_types, vec![GrantType::AuthorizationCode]);
    }

    fn record(method: &str) -> ClientRecord {
        let metadata = parse_client_metadata(&body(json!({
            "token_endpoint_auth_method": method,
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "App",
        })))
        .unwrap();
        let confidential = metadata.token_endpoint_auth_method.is_confidential();
        ClientRecord {
            client_id: "c1".into(),
            client_secret_hash: confidential.then(|| secret_hash("s3cret")),
            registration_access_token_hash: secret_hash("rat"),
            client_id_issued_at: 1_700_000_000,
            self_registered: None,
            metadata,
        }
    }

    #[test]
    fn record_checks() {
        let conf = record("client_secret_basic");
        assert!(conf.is_confidential());
        assert!(conf.verify_secret("s3cret"));
        assert!(!conf.verify_secret("s3creT"));
        assert!(conf.verify_registration_token("rat"));
        assert!(!conf.verify_registration_token("rat2"));
        assert!(conf.allows_grant(GrantType::RefreshToken));
        assert!(!conf.allows_grant(GrantType::ClientCredentials));
        assert!(conf.has_redirect_uri(CB));
        assert!(!conf.has_redirect_uri("https://app.example/cb/"));
        assert!(!conf.has_redirect_uri("https://APP.example/cb"));
        assert!(conf.may_introspect("c1"));
        assert!(!conf.may_introspect("c2"));
        let mut rs = conf.clone();
        rs.metadata.resource_server = true;
        assert!(rs.may_introspect("c2"));

        let public = record("none");
        assert!(!public.is_confidential());
        assert!(!public.verify_secret(""));
        // Even a stray stored hash does not make a public client verifiable.
        let odd = ClientRecord {
            client_secret_hash: Some(secret_hash("x")),
            ..public
        };
        assert!(!odd.verify_secret("x"));
    }

    fn with_redirects(uris: &[&str]) -> ClientRecord {
        let mut rec = record("none");
        rec.metadata.redirect_uris = uris.iter().map(|u| u.to_string()).collect();
        rec
    }

    #[test]
    fn loopback_ip_redirect_uris_match_on_any_port() {
        let rec = with_redirects(&[
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb?x=1",
            "http://localhost:3000/cb",
        ]);
        let cases = [
            (true, "http://127.0.0.1/cb"),
            (true, "http://127.0.0.1:51234/cb"), // RFC 8252 §7.3
            (true, "http://127.0.0.1:1/cb"),
            (true, "http://[::1]/cb?x=1"),
            (true, "http://[::1]:9/cb?x=1"),
            (false, "http://127.0.0.1:51234/cb/"), // all but the port stays exact
            (false, "http://127.0.0.1:51234/CB"),
            (false, "http://127.0.0.1:51234/cb?x"),
            (false, "http://[::1]:9/cb"),
            (false, "http://127.0.0.1:0/cb"),
            (false, "http://127.0.0.1:65536/cb"),
            (false, "http://127.0.0.1:/cb"),
            (false, "http://127.0.0.1:x/cb"),
            (false, "http://127.0.0.1:80@evil.example/cb"),
            (false, "http://127.0.0.1.evil.example/cb"),
            (false, "https://127.0.0.1:51234/cb"),
            (false, "http://127.0.0.2:51234/cb"),
            (true, "http://localhost:3000/cb"), // localhost: exact
            (false, "http://localhost:3001/cb"),
            (false, "http://localhost/cb"),
        ];
        for (expected, uri) in cases {
            assert_eq!(rec.has_redirect_uri(uri), expected, "{uri}");
        }
        assert!(!with_redirects(&["https://app.example/cb"]).has_redirect_uri("https://app.example:8443/cb"));
    }

    #[test]
    fn allowed_cors_origins_are_origins() {
        let m = parse_client_metadata(&body(
            json!({"allowed_cors_origins": ["https://spa.example", "http://127.0.0.1:5173"]}),
        ))
        .unwrap();
        assert_eq!(m.allowed_cors_origins, ["https://spa.example", "http://127.0.0.1:5173"]);
        let many: Vec<String> = (0..=MAX_URIS).map(|i| format!("https://a{i}.example")).collect();
        check(&[
            (OK, json!({"allowed_cors_origins": []})),
            (OK, json!({"allowed_cors_origins": ["https://spa.example:8443"]})),
            (
                OK,
                json!({"allowed_cors_origins": ["http://localhost:3000", "http://[::1]:8080"]}),
            ),
            (META, json!({"allowed_cors_origins": "https://spa.example"})),
            (META, json!({"allowed_cors_origins": [1]})),
            (META, json!({"allowed_cors_origins": many})),
            (META, json!({"allowed_cors_origins": ["https://spa.example/"]})),
            (META, json!({"allowed_cors_origins": ["https://spa.example/app"]})),
            (META, json!({"allowed_cors_origins": ["https://SPA.example"]})),
            (META, json!({"allowed_cors_origins": ["https://spa.example:443"]})),
            (META, json!({"allowed_cors_origins": ["http://spa.example"]})),
            (META, json!({"allowed_cors_origins": ["https://u@spa.example"]})),
            (META, json!({"allowed_cors_origins": ["null"]})),
            (META, json!({"allowed_cors_origins": ["*"]})),
            (META, json!({"allowed_cors_origins": ["com.example.app:"]})),
        ]);
    }

    #[test]
    fn origins_allowed_for_a_client() {
        let mut rec = with_redirects(&[
            "https://app.example/cb",
            "http://127.0.0.1:5173/cb",
            "com.example.app:/cb",
        ]);
        rec.metadata.allowed_cors_origins = vec!["https://other.example".into()];
        for (expected, origin) in [
            (true, "https://app.example"),
            (true, "http://127.0.0.1:5173"),
            (true, "https://other.example"),
            (false, "http://127.0.0.1:5174"), // exact: the any-port rule is for redirects
            (false, "https://app.example:8443"),
            (false, "http://app.example"),
            (false, "https://app.example/"),
            (false, "https://evil.example"),
            (false, "null"),
            (false, ""),
        ] {
            assert_eq!(rec.allows_origin(origin), expected, "{origin}");
        }
        assert!(!with_redirects(&[]).allows_origin("https://app.example"));
    }

    #[test]
    fn record_round_trips_through_json() {
        let rec = record("client_secret_post");
        let stored = serde_json::to_string(&rec).unwrap();
        assert_eq!(serde_json::from_str::<ClientRecord>(&stored).unwrap(), rec);
        let v: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(v["token_endpoint_auth_method"], "client_secret_post");
        assert_eq!(v["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert!(v.get("logo_uri").is_none() && v.get("contacts").is_none());
        assert!(v.get("resource_server").is_none(), "false is not stored");
        let mut rs = rec.clone();
        rs.metadata.resource_server = true;
        let stored = serde_json::to_string(&rs).unwrap();
        assert_eq!(serde_json::from_str::<ClientRecord>(&stored).unwrap(), rs);
        assert!(stored.contains(r#""resource_server":true"#));
        // A record as the first releases stored it: no secret, no
        // self-registration, metadata beside the record's own fields.
        let old = r#"{"client_id":"c9","registration_access_token_hash":"h","client_id_issued_at":5,
            "redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}"#;
        let read = serde_json::from_str::<ClientRecord>(old).unwrap();
        assert_eq!((read.client_id.as_str(), read.client_id_issued_at), ("c9", 5));
        assert!(read.client_secret_hash.is_none() && read.self_registered.is_none());
        assert_eq!(read.metadata.redirect_uris, ["https://app.example/cb"]);
        assert!(!read.is_confidential());
        for wrong in [
            r#"{"registration_access_token_hash":"h","client_id_issued_at":5}"#,
            r#"{"client_id":"c9","registration_access_token_hash":"h","client_id_issued_at":5,"grant_types":"x"}"#,
        ] {
            assert!(serde_json::from_str::<ClientRecord>(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn client_information_response() {
        let rec = record("client_secret_basic");
        let v = build_client_information(&rec, Some("s3cret"), Some("rat"), "https://op/register/c1");
        assert_eq!(v["client_id"], "c1");
        assert_eq!(v["client_id_issued_at"], 1_700_000_000);
        assert_eq!(v["client_secret"], "s3cret");
        assert_eq!(v["client_secret_expires_at"], 0);
        assert_eq!(v["registration_access_token"], "rat");
        assert_eq!(v["registration_client_uri"], "https://op/register/c1");
        assert_eq!(v["redirect_uris"], json!([CB]));
        assert_eq!(v["client_name"], "App");
        assert_eq!(v["id_token_signed_response_alg"], "RS256");
        assert_eq!(v["application_type"], "web");
        let text = v.to_string();
        assert!(!text.contains("hash") && !text.contains(&secret_hash("s3cret")));

        let read = build_client_information(&rec, None, None, "https://op/register/c1");
        assert!(read.get("client_secret").is_none());
        assert!(read.get("registration_access_token").is_none());

        let public = build_client_information(&record("none"), None, None, "u");
        assert!(public.get("client_secret_expires_at").is_none());
    }

    fn update(rec: &ClientRecord, body: &Value, manager: Manager) -> OAuthResult<ClientMetadata> {
        Ok(apply_update(rec, body, manager)?)
    }

    #[test]
    fn update_rules() {
        let rec = record("client_secret_basic");
        let ok = json!({
            "client_id": "c1", "client_secret": "s3cret", "redirect_uris": ["https://new.example/cb"],
            "registration_access_token": "rat", "registration_client_uri": "u",
            "client_secret_expires_at": 0, "client_id_issued_at": 1,
        });
        let m = apply_update(&rec, &ok, Manager::Admin).unwrap();
        assert_eq!(m.redirect_uris, vec!["https://new.example/cb"]);
        // A full replacement: omitted fields fall back to their defaults.
        assert_eq!(m.client_name, None);
        assert_eq!(m.grant_types, vec![GrantType::AuthorizationCode]);
        // Which the client itself may not do: its grant types would change.
        assert_eq!(code_of(update(&rec, &ok, Manager::Client)), META);

        let bad = Some(ErrorCode::InvalidRequest);
        let cases = [
            (OK, json!({"client_id": "c1", "redirect_uris": [CB]})),
            (bad, json!({"redirect_uris": [CB]})),
            (bad, json!({"client_id": "c2", "redirect_uris": [CB]})),
            (
                bad,
                json!({"client_id": "c1", "client_secret": "nope", "redirect_uris": [CB]}),
            ),
            (
                bad,
                json!({"client_id": "c1", "client_secret": 1, "redirect_uris": [CB]}),
            ),
            (bad, json!(["c1"])),
            (REDIRECT, json!({"client_id": "c1", "redirect_uris": ["http://x/cb"]})),
        ];
        for (expected, b) in cases {
            assert_eq!(code_of(update(&rec, &b, Manager::Admin)), expected, "{b}");
        }
        // A public client has no secret, so any presented one is wrong.
        let b = json!({"client_id": "c1", "client_secret": "", "redirect_uris": [CB]});
        assert_eq!(code_of(update(&record("none"), &b, Manager::Admin)), bad);
    }
}
