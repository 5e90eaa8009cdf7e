//! OAuth Client ID Metadata Documents
//! (draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an
//! https URL names a JSON document of client metadata, which we fetch
//! instead of looking the client up in storage. This file holds the rules:
//! which ids are document URLs and which of those we are willing to fetch,
//! how an answer becomes a [`ClientRecord`], and how long it is kept. The
//! fetch itself is platform code (`store::client_document`).
//!
//! A document client is always public (`token_endpoint_auth_method`
//! `none`, so PKCE is required) and has fixed privileges: the document may
//! narrow its grant types (authorization_code, refresh_token) and scopes,
//! never grant more; `resource_server` and `allowed_resources` in it are
//! ignored.

use crate::protocol::client::{is_loopback, parse_client_metadata, ClientMetadata, ClientRecord, GrantType};
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::object::Tagged;
use crate::protocol::params::list_setting;
use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// The draft (§ "Maximum Response Size"): "the authorization server SHOULD
/// limit the response size ... The RECOMMENDED maximum size is 5 kilobytes".
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Ours: the id becomes part of KV keys (consent records), which hold at
/// most 512 bytes.
pub const MAX_DOCUMENT_URL_LEN: usize = 400;
/// How long a fetch may take, answer and body together.
pub const FETCH_TIMEOUT_MS: u32 = 3000;
/// Bounds on how long a fetched document is kept, whatever its
/// `Cache-Control` says, and the lifetime when it says nothing.
pub const MIN_CACHE_SECS: u64 = 60;
pub const MAX_CACHE_SECS: u64 = 86_400;
pub const DEFAULT_CACHE_SECS: u64 = 300;

/// Which document URLs this deployment fetches (settings
/// `CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK` and `CLIENT_ID_DOCUMENT_HOSTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentPolicy {
    /// Development only: also fetch from loopback hosts (`127.0.0.1`,
    /// `[::1]`, `localhost`), over http or https.
    pub allow_http_loopback: bool,
    /// Trusted hosts: exact names, or `*.example.com` for every subdomain
    /// of `example.com`. Empty: any public host.
    pub hosts: Vec<String>,
}

/// Every `client_id` written as an http(s) URL is taken to be a document
/// URL and is either fetched or refused: ids we issue are never URLs.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Why a document client cannot be used; shown on the sign-in error page
/// and as `error_description` (`invalid_client`).
pub fn refused(why: impl std::fmt::Display) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, format!("client metadata document: {why}"))
}

/// The draft §3: "Client identifier URLs MUST have an "https" scheme, MUST
/// contain a path component, MUST NOT contain single-dot or double-dot path
/// segments, MAY contain a query string component, MUST NOT contain a
/// fragment component and MUST NOT contain a username or password
/// component". "The authorization server MUST NOT normalize Client
/// Identifier URLs when performing comparison", so an id that is not
/// already in normal form (dot segments, an upper-case host, a default
/// port) is refused rather than fetched under another spelling.
/// Then our own limits: never a private or loopback address (but for the
/// development setting), and only trusted hosts when the deployment names
/// them.
pub fn check_document_url(client_id: &str, policy: &DocumentPolicy) -> OAuthResult<Url> {
    if client_id.len() > MAX_DOCUMENT_URL_LEN {
        return Err(refused(format!(
            "the client_id URL is longer than {MAX_DOCUMENT_URL_LEN} characters"
        )));
    }
    let url = Url::parse(client_id).map_err(|_| refused("the client_id is not a URL"))?;
    let local = is_loopback(url.host());
    match url.scheme() {
        "https" => {}
        "http" if local && policy.allow_http_loopback => {}
        _ => return Err(refused("the client_id URL must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("the client_id URL must not contain a username or password"));
    }
    if url.fragment().is_some() {
        return Err(refused("the client_id URL must not contain a fragment"));
    }
    if url.path() == "/" {
        return Err(refused("the client_id URL must have a path"));
    }
    if url.as_str() != client_id {
        return Err(refused(format!(
            "the client_id URL is not in normal form (no dot segments, lower-case host, no default port): {:?}",
            url.as_str()
        )));
    }
    if local {
        if !policy.allow_http_loopback {
            return Err(refused("loopback hosts are not fetched"));
        }
    } else if !is_public_host(url.host()) {
        return Err(refused("private, link-local and reserved addresses are not fetched"));
    }
    if !host_trusted(url.host_str().unwrap_or_default(), &policy.hosts) {
        return Err(refused("the host is not one this server trusts"));
    }
    Ok(url)
}

/// A domain name other than `*.localhost` (RFC 6761 §6.3), or a global
/// unicast IP literal. Domain names are not resolved here: Workers' own
/// `fetch` cannot reach private networks (README, Client ID Metadata
/// Documents).
fn is_public_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => !d.to_ascii_lowercase().ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => is_public_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_public_ip(IpAddr::V6(ip)),
        None => false,
    }
}

fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        // Global unicast is 2000::/3; documentation 2001:db8::/32 aside.
        // IPv4-mapped and other embeddings fall outside it.
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && s[1] == 0x0db8) && v6 != Ipv6Addr::UNSPECIFIED
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // RFC 6598
    let protocol = a == 192 && b == 0 && c == 0; // RFC 6890
    let benchmarking = a == 198 && (b == 18 || b == 19); // RFC 2544
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || shared
        || protocol
        || benchmarking)
}

fn host_trusted(host: &str, trusted: &[String]) -> bool {
    trusted.is_empty()
        || trusted.iter().any(|t| match t.strip_prefix("*.") {
            Some(parent) => host
                .strip_suffix(parent)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => host == t,
        })
}

/// `CLIENT_ID_DOCUMENT_HOSTS`: host names (or `*.` and a name), separated
/// by commas or whitespace, written as they appear in a URL (lower case,
/// no scheme, port or path). Says which entry is malformed.
pub fn parse_trusted_hosts(text: &str) -> Result<Vec<String>, String> {
    let entries = list_setting(text);
    if entries.is_empty() {
        return Err("lists no host".into());
    }
    for entry in &entries {
        let name = entry.strip_prefix("*.").unwrap_or(entry);
        let canonical = Url::parse(&format!("https://{name}/"))
            .ok()
            .filter(|u| u.host_str() == Some(name) && u.port().is_none());
        if canonical.is_none() {
            return Err(format!("entry {entry:?} is not a lower-case host name"));
        }
    }
    Ok(entries)
}

/// What the platform fetch saw (`store::client_document`), as JSON tagged
/// by `kind` (`{"kind": "answer", "status": 200, …}`), read by hand
/// (`object::Tagged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// An answer, with its body read whole (at most [`MAX_DOCUMENT_BYTES`]).
    Answer {
        status: u16,
        content_type: Option<String>,
        cache_control: Option<String>,
        body: String,
    },
    /// `Content-Length` or the body itself exceeded [`MAX_DOCUMENT_BYTES`].
    TooLarge,
    /// No whole answer within [`FETCH_TIMEOUT_MS`].
    TimedOut,
    /// The connection failed, or the body was not UTF-8.
    Unreachable,
}

impl<'de> Deserialize<'de> for Fetched {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let seen = Tagged::internal(d, "kind")?;
        Ok(match seen.name() {
            "answer" => Fetched::Answer {
                status: seen.field("status")?,
                content_type: seen.field("content_type")?,
                cache_control: seen.field("cache_control")?,
                body: seen.field("body")?,
            },
            "too_large" => Fetched::TooLarge,
            "timed_out" => Fetched::TimedOut,
            "unreachable" => Fetched::Unreachable,
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// The client `client_id`'s document makes, and how many seconds to keep
/// it. The draft §4: the document is fetched with a GET and an answer
/// other than `200` with JSON is an error; redirects are not followed
/// (the draft: the server "MUST NOT automatically follow HTTP redirects"
/// — a redirect would let the document live somewhere its URL does not
/// say). Failures are not kept: the next request fetches again.
pub fn read_answer(client_id: &str, fetched: Fetched, now: u64) -> OAuthResult<(ClientRecord, u64)> {
    let (status, content_type, cache_control, body) = match fetched {
        Fetched::Answer {
            status,
            content_type,
            cache_control,
            body,
        } => (status, content_type, cache_control, body),
        Fetched::TooLarge => return Err(refused(format!("larger than {MAX_DOCUMENT_BYTES} bytes"))),
        Fetched::TimedOut => return Err(refused(format!("no answer within {FETCH_TIMEOUT_MS} ms"))),
        Fetched::Unreachable => return Err(refused("could not be fetched")),
    };
    if (300..400).contains(&status) {
        return Err(refused(format!(
            "answered with a redirect ({status}), which is not followed"
        )));
    }
    if status != 200 {
        return Err(refused(format!("answered HTTP {status}")));
    }
    let media_type = content_type
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default();
    if !media_type.trim().eq_ignore_ascii_case("application/json") {
        return Err(refused("is not served as application/json"));
    }
    let metadata = parse_document(client_id, &body)?;
    let record = ClientRecord {
        client_id: client_id.to_owned(),
        client_secret_hash: None,
        registration_access_token_hash: String::new(),
        client_id_issued_at: now,
        metadata,
        // Not registered with us at all: the consent page names the
        // document's host instead (`DocumentClient`).
        self_registered: None,
    };
    Ok((record, cache_lifetime(cache_control.as_deref())))
}

/// The draft §4.1: "The client metadata document MUST contain a client_id
/// property whose value MUST match the URL of the document using simple
/// string comparison"; it "MUST NOT include client_secret or
/// client_secret_expires_at" and `token_endpoint_auth_method` "MUST NOT
/// include client_secret_post, client_secret_basic, client_secret_jwt, or
/// any other method based around a shared symmetric secret". Of the
/// others we support only `none`, which is also the default here. The rest
/// is RFC 7591 client metadata, validated as at registration, with fixed
/// privileges (module comment).
pub fn parse_document(client_id: &str, body: &str) -> OAuthResult<ClientMetadata> {
    let value: Value = serde_json::from_str(body).map_err(|_| refused("is not JSON"))?;
    let Value::Object(mut obj) = value else {
        return Err(refused("is not a JSON object"));
    };
    if obj.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(refused("its client_id is not exactly the document's URL"));
    }
    if let Some(secret) = ["client_secret", "client_secret_expires_at"]
        .into_iter()
        .find(|m| obj.contains_key(*m))
    {
        return Err(refused(format!("must not contain {secret}")));
    }
    match obj.get("token_endpoint_auth_method") {
        None => {}
        Some(m) if m == "none" => {}
        Some(m) => return Err(refused(format!("token_endpoint_auth_method must be \"none\", not {m}"))),
    }
    obj.insert("token_endpoint_auth_method".into(), "none".into());
    obj.remove("resource_server");
    obj.remove("allowed_resources");
    let metadata = parse_client_metadata(&Value::Object(obj)).map_err(|e| refused(e.description))?;
    if !metadata.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(refused("grant_types must include authorization_code"));
    }
    Ok(metadata)
}

/// The draft §4.4: the server "MAY cache the client metadata ... The
/// cache time SHOULD be determined by HTTP cache headers". `max-age`
/// within [[`MIN_CACHE_SECS`], [`MAX_CACHE_SECS`]]; `no-store` and
/// `no-cache` get the minimum (a bound on how often one client makes us
/// fetch); nothing said, [`DEFAULT_CACHE_SECS`].
pub fn cache_lifetime(cache_control: Option<&str>) -> u64 {
    let mut lifetime = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return MIN_CACHE_SECS;
        }
        if let Some(secs) = directive.strip_prefix("max-age=") {
            lifetime = secs.trim_matches('"').parse::<u64>().ok().or(Some(0));
        }
    }
    lifetime.map_or(DEFAULT_CACHE_SECS, |s| s.clamp(MIN_CACHE_SECS, MAX_CACHE_SECS))
}

/// The host a document client's id names, which the consent page shows
/// as who is asking; `None` for a registered client.
pub fn document_host(client_id: &str) -> Option<String> {
    if !is_document_url(client_id) {
        return None;
    }
    Url::parse(client_id).ok()?.host_str().map(str::to_owned)
}

/// Whether every redirect URI of the client is on a loopback host: a
/// native app on the person's own machine, or someone else's page on a
/// `localhost` it could not vouch for. The consent page warns.
pub fn redirects_only_to_loopback(client: &ClientRecord) -> bool {
    let uris = &client.metadata.redirect_uris;
    !uris.is_empty() && uris.iter().all(|u| Url::parse(u).is_ok_and(|u| is_loopback(u.host())))
}

#[cfg(test)]
#[path = "client_document_tests.rs"]
mod tests;
