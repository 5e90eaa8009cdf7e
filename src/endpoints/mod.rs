//! One file per endpoint: read the request, parse and validate it with
//! `protocol`, do the work through the stores, answer.

pub mod access;
pub mod account;
pub mod admin;
pub mod assets;
pub mod authorize;
pub mod browser;
pub mod cors;
pub mod discovery;
pub mod federation;
pub mod http;
pub mod idps;
pub mod introspect;
pub mod jwks;
pub mod logout;
pub mod register;
pub mod registration_tokens;
pub mod request;
pub mod revoke;
pub mod sign_in;
pub mod token;
pub mod userinfo;
pub mod users;

use crate::config::Config;
use crate::endpoints::request::Request;
use crate::memo::TtlCache;
use crate::protocol::client::ClientRecord;
use crate::protocol::client_auth;
use crate::protocol::client_document::{check_document_url, is_document_url, read_answer, MAX_CACHE_SECS};
use crate::protocol::encoding::{secret_hash, secret_matches};
use crate::protocol::error::Challenge;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::grant::Grant;
use crate::protocol::open_registration::SelfRegistered;
use crate::protocol::params::Params;
use crate::protocol::registration_token::RegistrationTokenMachine;
use crate::protocol::user::UserRevocation;
use crate::store::durable::DurableObjects;
use crate::store::kv::KvRecords;
use crate::store::{RecordStore, StoreResult};
use async_trait::async_trait;
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

/// What every endpoint gets besides its request: settings, bindings, the
/// issuer this request is served under, and the time, read once; and the
/// client the request turns out to be about, once known ([`Ctx::identify`]).
pub struct Ctx {
    pub env: Env,
    pub config: Rc<Config>,
    pub issuer: String,
    pub now: u64,
    pub identified: RefCell<Option<ClientRecord>>,
}

impl Ctx {
    /// Notes the client this request is about: the one its client
    /// credentials name (registered, before they are checked), or the one
    /// its access token was issued to. The first one stays: at
    /// introspection, the caller, not the token it asks about. The router's
    /// CORS answer reads it, as node-oidc-provider's reads `ctx.oidc.client`,
    /// so errors found later carry it too.
    pub fn identify(&self, client: &ClientRecord) {
        let mut identified = self.identified.borrow_mut();
        if identified.is_none() {
            *identified = Some(client.clone());
        }
    }

    pub fn records(&self) -> OAuthResult<KvRecords> {
        Ok(KvRecords::bind(&self.env)?)
    }

    /// RFC 6750 bearer check against `ADMIN_TOKEN`, in constant time.
    pub fn is_admin(&self, req: &Request) -> bool {
        match (http::authorization(req, "Bearer"), &self.config.admin_token) {
            (Some(presented), Some(admin)) => secret_matches(&presented, &secret_hash(admin)),
            _ => false,
        }
    }

    pub fn require_admin(&self, req: &Request) -> OAuthResult<()> {
        if self.is_admin(req) {
            return Ok(());
        }
        Err(bearer_error(
            http::authorization(req, "Bearer").is_some(),
            "a valid admin bearer token is required",
        ))
    }
}

/// RFC 6750 §3.1: no credentials at all get a bare 401 challenge; wrong
/// ones get `invalid_token`.
pub fn bearer_error(token_sent: bool, description: &'static str) -> OAuthError {
    let e = if token_sent {
        OAuthError::new(ErrorCode::InvalidToken, description)
    } else {
        invalid_request(description).with_status(401)
    };
    e.with_challenge(Challenge::Bearer)
}

/// RFC 6749 §2.3 client authentication for the token, revocation and
/// introspection endpoints.
pub async fn authenticate_client(req: &Request, params: &Params, ctx: &Ctx) -> OAuthResult<ClientRecord> {
    let creds = client_auth::extract(http::authorization_header(req).as_deref(), params)?;
    let client = ctx.client(creds.client_id()).await?;
    if let Some(c) = &client {
        ctx.identify(c);
    }
    client_auth::authenticate(&creds, client)
}

/// Clients and deleted users change rarely and KV already takes up to a
/// minute to reach other locations, so each isolate keeps what it has read
/// for a few seconds: a token request then costs no KV read. Only found
/// clients are kept (random ids cannot fill the cache); both are bounded.
const CACHE_TTL: u64 = 30;
const CACHE_MAX: usize = 1024;

thread_local! {
    static CLIENTS: TtlCache<ClientRecord> = TtlCache::new(CACHE_TTL, CACHE_MAX);
    static REVOCATIONS: TtlCache<Option<UserRevocation>> = TtlCache::new(CACHE_TTL, CACHE_MAX);
    /// Fetched Client ID Metadata Documents' clients, each with the time
    /// its own lifetime ends (`client_document::cache_lifetime`).
    static DOCUMENTS: TtlCache<(u64, ClientRecord)> = TtlCache::new(MAX_CACHE_SECS, DOCUMENTS_MAX);
}

/// Fewer than clients: a document costs a fetch, not a KV read, to refill,
/// but anyone can make up document URLs on hosts they control.
const DOCUMENTS_MAX: usize = 256;

/// Users' revocations (a deleted user's tombstone, or the moment their
/// grants were revoked), read through this isolate's cache like clients. Here "none" is kept too: every token of a live user asks, and
/// the subjects come from our own signed tokens and grants, not from
/// whoever sends a request. A deletion or revocation takes effect at once
/// where it was made and elsewhere within the cache's TTL and KV's own delay.
/// The KV namespace is bound only on a cache miss: a live user's token
/// then costs no call out of wasm at all.
pub struct UserRevocations<'a> {
    env: &'a Env,
    now: u64,
}

#[async_trait(?Send)]
impl RecordStore<UserRevocation> for UserRevocations<'_> {
    async fn get(&self, sub: &str) -> StoreResult<Option<UserRevocation>> {
        if let Some(cached) = REVOCATIONS.with(|c| c.get(sub, self.now)) {
            return Ok(cached);
        }
        let found: Option<UserRevocation> = KvRecords::bind(self.env)?.get(sub).await?;
        REVOCATIONS.with(|c| c.put(sub, self.now, found.clone()));
        Ok(found)
    }
    async fn put(&self, tombstone: &UserRevocation) -> StoreResult<()> {
        KvRecords::bind(self.env)?.put(tombstone).await?;
        REVOCATIONS.with(|c| c.put(&tombstone.sub, self.now, Some(tombstone.clone())));
        Ok(())
    }
    async fn delete(&self, sub: &str) -> StoreResult<()> {
        RecordStore::<UserRevocation>::delete(&KvRecords::bind(self.env)?, sub).await?;
        REVOCATIONS.with(|c| c.forget(sub));
        Ok(())
    }
}

impl Ctx {
    pub fn revocations(&self) -> UserRevocations<'_> {
        UserRevocations {
            env: &self.env,
            now: self.now,
        }
    }

    /// Whether `grant` has since been withdrawn: its user deleted, their
    /// grants revoked, or their consent to its client withdrawn.
    pub async fn revoked(&self, grant: &Grant) -> OAuthResult<bool> {
        Ok(self
            .revocations()
            .get(&grant.sub)
            .await?
            .is_some_and(|r| r.voids(grant).is_some()))
    }

    /// How long a revocation must be kept: until every token of a grant it
    /// voids has ended. Such a grant was made by the revocation's moment;
    /// its code could be redeemed `CODE_TTL` later, its refresh chain then
    /// lasts `REFRESH_TOKEN_ABSOLUTE_TTL`, and the last access token issued
    /// from it `ACCESS_TOKEN_TTL` after that.
    pub fn revocation_lifetime(&self) -> u64 {
        let c = &self.config;
        c.code_ttl + c.refresh_token_absolute_ttl + c.access_token_ttl
    }

    /// Withdraws what `change` says from `sub`, on top of what was withdrawn
    /// before (read afresh from the store, not this isolate's cache, so
    /// that nothing written elsewhere meanwhile is dropped).
    pub async fn withdraw(
        &self,
        sub: &str,
        change: impl FnOnce(Option<UserRevocation>) -> UserRevocation,
    ) -> OAuthResult<()> {
        let stored: Option<UserRevocation> = self.records()?.get(sub).await?;
        Ok(self.revocations().put(&change(stored)).await?)
    }

    /// Client records are written only through this and
    /// [`Ctx::delete_client`], which drop the client from this isolate's
    /// cache: an update or deletion, the client's own or the admin's, takes
    /// effect at once here, and elsewhere within the cache's TTL and KV's
    /// own delay.
    pub async fn save_client(&self, record: &ClientRecord) -> OAuthResult<()> {
        self.records()?.put(record).await?;
        CLIENTS.with(|c| c.forget(&record.client_id));
        Ok(())
    }

    pub async fn delete_client(&self, client_id: &str) -> OAuthResult<()> {
        RecordStore::<ClientRecord>::delete(&self.records()?, client_id).await?;
        CLIENTS.with(|c| c.forget(client_id));
        Ok(())
    }

    /// The registration tokens' Durable Objects, one per token, named by
    /// its id (`registration_token::is_token_id`).
    pub fn registration_tokens(&self) -> OAuthResult<DurableObjects<RegistrationTokenMachine>> {
        Ok(DurableObjects::bind(&self.env, "REGISTRATION_TOKENS")?)
    }

    /// A client for the protocol endpoints, from the isolate cache when
    /// fresh; a self-registered client whose unused time is over is none.
    /// An id written as a URL is a Client ID Metadata Document's:
    /// resolved by [`Ctx::document_client`], here, for every endpoint.
    pub async fn client(&self, client_id: &str) -> OAuthResult<Option<ClientRecord>> {
        if is_document_url(client_id) {
            return self.document_client(client_id).await.map(Some);
        }
        if let Some(cached) = CLIENTS.with(|c| c.get(client_id, self.now)) {
            return Ok(Some(cached).filter(|c| !c.lapsed(self.now)));
        }
        let found: Option<ClientRecord> = self.records()?.get(client_id).await?;
        if let Some(record) = &found {
            CLIENTS.with(|c| c.put(client_id, self.now, record.clone()));
        }
        Ok(found.filter(|c| !c.lapsed(self.now)))
    }

    /// RFC 7591 §5 lets a server remove registrations "never used": the
    /// first token a self-registered client gets keeps its registration
    /// for good. One write, once per client; read afresh from the store so
    /// that a cached copy never overwrites a newer update.
    pub async fn keep_registration(&self, client: &ClientRecord) -> OAuthResult<()> {
        if client.self_registered.is_none_or(|s| s.unused_until.is_none()) {
            return Ok(());
        }
        let stored: Option<ClientRecord> = self.records()?.get(&client.client_id).await?;
        let Some(mut record) = stored else {
            return Ok(());
        };
        record.self_registered = Some(SelfRegistered { unused_until: None });
        self.save_client(&record).await
    }
}

impl Ctx {
    /// [`Ctx::client`] where a client is only looked up, not about to be
    /// used for a request it makes (its access tokens, logout): a document
    /// that is now refused means no such client.
    pub async fn existing_client(&self, client_id: &str) -> OAuthResult<Option<ClientRecord>> {
        match self.client(client_id).await {
            Err(e) if e.code == ErrorCode::InvalidClient => Ok(None),
            found => found,
        }
    }

    /// The client a Client ID Metadata Document describes, fetched unless
    /// this isolate holds it within its cache lifetime. Every request meets
    /// the document as it is now (within that lifetime): one that became
    /// invalid, or unreachable, refuses the client (`invalid_client`), and
    /// one that dropped a redirect URI, a grant type or a scope refuses the
    /// requests that needed it, as an updated registration would
    /// (`authorize::recheck`, the grant checks at `/token`). Failures are
    /// not kept.
    pub async fn document_client(&self, client_id: &str) -> OAuthResult<ClientRecord> {
        if let Some((until, record)) = DOCUMENTS.with(|c| c.get(client_id, self.now)) {
            if self.now < until {
                return Ok(record);
            }
        }
        let url = check_document_url(client_id, &self.config.client_documents)?;
        let fetched = crate::store::client_document::fetch(url.as_str()).await;
        let (record, lifetime) = read_answer(client_id, fetched, self.now).inspect_err(|e| {
            worker::console_warn!("{client_id}: {}", e.description);
        })?;
        DOCUMENTS.with(|c| c.put(client_id, self.now, (self.now + lifetime, record.clone())));
        Ok(record)
    }
}
