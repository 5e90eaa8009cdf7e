//! Federated sign-in: "Continue with …" an upstream provider (any OpenID
//! provider, or a plain OAuth 2.0 one of GitHub's kind), configured by the
//! admin (`/admin/idps`, `endpoints/idps.rs`).
//!
//! The round trip: a page's provider button (or `/authorize?idp=…`) →
//! [`start`]: the browser goes to the upstream with a `state` that seals
//! which provider it went to, what to resume afterwards, and a hash of
//! this browser's federation cookie; the PKCE verifier and the `nonce`
//! are derived from the state's id with the server's secret, so the
//! upstream (which sees the state) cannot read them from it. →
//! `/federation/{id}/callback` ([`callback`]): the state is checked (ours,
//! fresh, this provider, this browser, first use), the code redeemed, the
//! identity verified, and [`accounts`] finds or makes the local account
//! and resumes the page the person came from.

mod accounts;
pub mod callback;

use super::authorize::Pending;
use super::browser::{form_secret, secure, Browser};
use super::http::redirect;
use super::Ctx;
use crate::memo::TtlCache;
use crate::protocol::cookie::set_cross_site_cookie;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::federation::discovery::{metadata_url, oauth2_metadata, parse_metadata, UpstreamMetadata};
use crate::protocol::federation::provider::{ProviderKind, ProviderRecord, ProviderSet};
use crate::protocol::federation::request::authorization_url;
use crate::protocol::federation::FederationError;
use crate::protocol::handle::{derive, seal, sealed_id};
use crate::protocol::pkce::s256_challenge;
use crate::random;
use crate::store::upstream::{cached_json, UpstreamFailure};
use crate::store::RecordStore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::rc::Rc;

pub use accounts::{kept_tokens, link_pending, secret_context as accounts_secret_context, unlink, unlink_all};

/// The browser's federation cookie: a random value whose hash each state
/// carries, so that a callback is honoured only in the browser that set
/// off its round trip (RFC 9700 §4.7: no login CSRF, no injected codes).
pub const FEDERATION_COOKIE: &str = "oidc_federation";
const COOKIE_PATH: &str = "/federation/";
/// How long a person has at the upstream.
const STATE_TTL: u64 = 600;
const PURPOSE: &str = "federation";
/// Discovery documents and key sets, per isolate.
const DOCUMENT_TTL: u64 = 3_600;

/// Where the person goes back to once the upstream has answered.
#[derive(Serialize, Deserialize)]
pub enum Resume {
    /// `/authorize`'s pending request, at its login step.
    Authorize(Pending),
    /// `/account/login`, with the identity it was proving an account for.
    Account(Option<PendingLink>),
    /// The account page's "Link" button: link to the account `sub`, which
    /// is signed in.
    Link { sub: String },
}

impl Resume {
    /// The same page to go back to, now carrying `link` to make once the
    /// person has signed in there (the account page's link needs none: its
    /// person is signed in).
    fn with_link(self, link: PendingLink) -> Self {
        match self {
            Resume::Authorize(mut pending) => {
                pending.link = Some(link);
                Resume::Authorize(pending)
            }
            Resume::Account(_) => Resume::Account(Some(link)),
            Resume::Link { sub } => Resume::Link { sub },
        }
    }

    fn pending_link(&self) -> Option<&PendingLink> {
        match self {
            Resume::Authorize(p) => p.link.as_ref(),
            Resume::Account(link) => link.as_ref(),
            Resume::Link { .. } => None,
        }
    }
}

/// An upstream identity whose e-mail address an account here has, waiting
/// to be linked once the person has signed in to that account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLink {
    pub idp: String,
    pub issuer: String,
    pub subject: String,
    pub claims: Map<String, Value>,
}

/// The sealed `state` of one round trip.
#[derive(Serialize, Deserialize)]
struct RoundTrip<R> {
    idp: String,
    /// `secret_hash` of the browser's federation cookie.
    binding: String,
    resume: R,
}

thread_local! {
    static PROVIDERS: TtlCache<Rc<ProviderSet>> = TtlCache::new(30, 1);
}

/// The configured providers (one KV record, read through this isolate's
/// cache: the login page shows them all).
pub async fn providers(ctx: &Ctx) -> OAuthResult<Rc<ProviderSet>> {
    if let Some(set) = PROVIDERS.with(|c| c.get(ProviderSet::KEY, ctx.now)) {
        return Ok(set);
    }
    let set: Option<ProviderSet> = ctx.records()?.get(ProviderSet::KEY).await?;
    let set = Rc::new(set.unwrap_or_default());
    PROVIDERS.with(|c| c.put(ProviderSet::KEY, ctx.now, set.clone()));
    Ok(set)
}

/// The only write of the providers: this isolate sees it at once, others
/// within the cache's 30 s and KV's own delay.
pub async fn save_providers(ctx: &Ctx, set: &ProviderSet) -> OAuthResult<()> {
    ctx.records()?.put(set).await?;
    PROVIDERS.with(|c| c.forget(ProviderSet::KEY));
    Ok(())
}

/// An enabled provider by id.
pub async fn enabled_provider(ctx: &Ctx, id: &str) -> OAuthResult<Option<ProviderRecord>> {
    Ok(providers(ctx).await?.get(id).filter(|p| p.enabled).cloned())
}

/// Our redirect URI at the provider `id`: one per provider, so an answer
/// cannot arrive for another (RFC 9700 §4.4.2).
pub fn redirect_uri(ctx: &Ctx, id: &str) -> String {
    format!("{}/federation/{id}/callback", ctx.issuer)
}

/// The provider's endpoints: its discovery document (cached) for OpenID
/// providers, its configuration for plain OAuth ones.
async fn metadata(ctx: &Ctx, p: &ProviderRecord) -> Result<UpstreamMetadata, FederationError> {
    match (&p.kind, &p.issuer) {
        (ProviderKind::Oidc, Some(issuer)) => {
            let document = upstream_document(ctx, &metadata_url(issuer), false).await?;
            parse_metadata(&document, issuer)
        }
        _ => Ok(oauth2_metadata(p)),
    }
}

/// A document of the upstream's (discovery, JWKS), from this isolate's
/// cache unless `refresh`.
async fn upstream_document(ctx: &Ctx, url: &str, refresh: bool) -> Result<Rc<[u8]>, FederationError> {
    cached_json(url, DOCUMENT_TTL, ctx.now, refresh).await.map_err(failure)
}

/// An upstream that could not be asked: what the person is told (the
/// detail goes to the log, never to the page).
fn failure(f: UpstreamFailure) -> FederationError {
    worker::console_warn!("federation: {f}");
    match f {
        UpstreamFailure::TimedOut => FederationError::TimedOut,
        UpstreamFailure::Unreachable(_) => FederationError::Unreachable,
    }
}

/// The value of the browser's federation cookie, set (again, for the
/// state's lifetime) now.
fn binding(ctx: &Ctx, browser: &mut Browser) -> String {
    let value = browser.federation.clone().unwrap_or_else(random::token);
    browser.cookies.push(set_cross_site_cookie(
        FEDERATION_COOKIE,
        &value,
        COOKIE_PATH,
        STATE_TTL,
        secure(ctx),
    ));
    value
}

/// Sends the browser to `provider` to sign in, to come back to
/// `resume`; the error (the upstream could not be reached) is for the
/// page to say, the person still on it.
pub async fn start(
    ctx: &Ctx,
    browser: &mut Browser,
    provider: &ProviderRecord,
    resume: &Resume,
    login_hint: Option<&str>,
) -> OAuthResult<Result<worker::Response, FederationError>> {
    let meta = match metadata(ctx, provider).await {
        Ok(meta) => meta,
        Err(e) => {
            // The page gives the person only a sentence; the admin needs the
            // reason (a discovery document naming another issuer, say).
            worker::console_warn!("federation {}: {}", provider.id, e.log_reason());
            return Ok(Err(e));
        }
    };
    let trip = RoundTrip {
        idp: provider.id.clone(),
        binding: secret_hash(&binding(ctx, browser)),
        resume,
    };
    let secret = form_secret(ctx).await?;
    let state = seal(&secret, PURPOSE, &trip, ctx.now, STATE_TTL, &random::id());
    let id = sealed_id(&state).unwrap_or_default();
    let url = authorization_url(
        &meta,
        provider,
        &redirect_uri(ctx, &provider.id),
        &state,
        &derive(&secret, NONCE, id),
        &s256_challenge(&derive(&secret, VERIFIER, id)),
        login_hint,
    );
    Ok(Ok(redirect(browser.after_post, &url, &browser.cookies)?))
}

/// Labels of what is derived from a state's id.
const VERIFIER: &str = "federation:pkce";
const NONCE: &str = "federation:nonce";

/// What a page shows when a round trip could not start or finish.
pub fn alert(provider_name: &str, e: &FederationError) -> String {
    format!("Signing in with {provider_name} did not work. {}", e.message())
}

/// [`start`] for a page's form post: `Err` is the alert for the page.
pub async fn start_from_form(
    ctx: &Ctx,
    browser: &mut Browser,
    idp: &str,
    resume: &Resume,
    login_hint: Option<&str>,
) -> OAuthResult<Result<worker::Response, String>> {
    let Some(provider) = enabled_provider(ctx, idp).await? else {
        return Ok(Err("That way of signing in is not available any more.".into()));
    };
    Ok(start(ctx, browser, &provider, resume, login_hint)
        .await?
        .map_err(|e| alert(&provider.name, &e)))
}

/// The provider buttons a sign-in page shows: the enabled providers.
pub async fn buttons(ctx: &Ctx) -> OAuthResult<Vec<(String, String)>> {
    Ok(providers(ctx)
        .await?
        .providers
        .iter()
        .filter(|p| p.enabled)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect())
}

/// The provider a new authorization request goes straight to: the one its
/// `idp` parameter names, else the one whose domain its `login_hint`'s
/// e-mail address is at.
pub async fn hinted(ctx: &Ctx, idp: Option<&str>, login_hint: Option<&str>) -> OAuthResult<Option<ProviderRecord>> {
    let set = providers(ctx).await?;
    let mut enabled = set.providers.iter().filter(|p| p.enabled);
    Ok(match (idp, login_hint) {
        (Some(id), _) => enabled.find(|p| p.id == id),
        (None, Some(hint)) => enabled.find(|p| p.matches_domain(hint)),
        (None, None) => None,
    }
    .cloned())
}
