//! Dynamic client registration: `POST /register` (RFC 7591) and the client
//! configuration endpoint `GET/PUT/DELETE /register/{client_id}` (RFC 7592).
//!
//! Registration needs an initial access token (RFC 7591 §3): `ADMIN_TOKEN`,
//! which may register anything, or a registration token the admin minted,
//! which may register what its terms allow. Configuration calls take the
//! client's registration access token, which changes descriptive metadata
//! and redirect URIs only, or the admin token, which changes anything
//! (`protocol::privilege`). With `OPEN_REGISTRATION=on`, a request with
//! no initial access token at all registers within the fixed limits of
//! `protocol::open_registration`, counted per client address. Every successful read or update issues a new
//! registration access token (RFC 7592 §3 requires one in the response,
//! and only its hash is kept), so the previous one stops working.

use super::admin::audit::{self, Actor};
use super::http::{error_response, json, json_body, no_content, Reply};
use super::{bearer_error, http, Ctx};
use crate::endpoints::request::Request;
use crate::protocol::client::{
    apply_update, build_client_information, parse_client_metadata, parse_metadata_fields, ClientMetadata, ClientRecord,
    FieldErrors,
};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::open_registration::{check_limits, throttle_key, SelfRegistered, PER_ADDRESS};
use crate::protocol::privilege::{Manager, Privileges};
use crate::protocol::registration_token::{split_presented, TokenOp, TokenReply};
use crate::protocol::throttle::{ThrottleMachine, ThrottleOp, ThrottleReply};
use crate::random;
use crate::store::durable::DurableObjects;
use crate::store::{ObjectStore, RecordStore};
use serde_json::Value;
use worker::{Method, Response};

fn client_uri(ctx: &Ctx, client_id: &str) -> String {
    format!("{}/register/{client_id}", ctx.issuer)
}

/// A secret for a confidential client, none for a public one.
pub fn new_secret(metadata: &ClientMetadata) -> Option<String> {
    metadata
        .token_endpoint_auth_method
        .is_confidential()
        .then(random::token)
}

/// The initial access token a registration came with.
enum InitialAccess {
    Admin,
    /// None at all, with open registration on.
    Open,
    /// A registration token: its id and the presented secret's hash.
    Token {
        id: String,
        secret_hash: String,
    },
}

fn initial_access(req: &Request, ctx: &Ctx) -> OAuthResult<InitialAccess> {
    if ctx.is_admin(req) {
        return Ok(InitialAccess::Admin);
    }
    let presented = http::authorization(req, "Bearer");
    if http::authorization_header(req).is_none() && ctx.config.open_registration {
        return Ok(InitialAccess::Open);
    }
    match presented.as_deref().and_then(split_presented) {
        Some((id, secret)) => Ok(InitialAccess::Token {
            id: id.to_owned(),
            secret_hash: secret_hash(secret),
        }),
        None => Err(bearer_error(
            presented.is_some(),
            "a valid initial access token is required",
        )),
    }
}

/// Spends one use of a registration token on `metadata`, which must stay
/// within the token's terms. Nothing is spent on metadata that is invalid
/// or beyond the terms; a bad token answers 401 whatever the metadata.
async fn spend(
    ctx: &Ctx,
    id: &str,
    secret_hash: String,
    metadata: OAuthResult<ClientMetadata>,
) -> OAuthResult<ClientMetadata> {
    let tokens = ctx.registration_tokens()?;
    let mut metadata = match metadata {
        Ok(m) => m,
        Err(invalid) => {
            let check = tokens.apply(id, TokenOp::Check { secret_hash }, ctx.now).await?;
            return Err(match check {
                TokenReply::Refused { refusal } => refusal.error(),
                TokenReply::Ok { .. } => invalid,
            });
        }
    };
    let op = TokenOp::Use {
        secret_hash,
        privileges: Privileges::of(&metadata),
    };
    match tokens.apply(id, op, ctx.now).await? {
        TokenReply::Ok { registered_scope } => {
            metadata.scope = registered_scope;
            Ok(metadata)
        }
        TokenReply::Refused { refusal } => Err(refusal.error()),
    }
}

/// RFC 6585 §4: 429 "Too Many Requests" with `Retry-After`, when this
/// client address has registered too many clients lately. Counted in the
/// address's own Durable Object, before the body is read, so refused and
/// invalid registrations count too.
async fn admit_open(req: &Request, ctx: &Ctx) -> OAuthResult<Option<Response>> {
    // Absent only off Cloudflare (local development): one shared count.
    let address = req.header("cf-connecting-ip").unwrap_or_else(|| "unknown".into());
    let throttles = DurableObjects::<ThrottleMachine>::bind(&ctx.env, "THROTTLES")?;
    let op = ThrottleOp::Attempt { policy: PER_ADDRESS };
    let ThrottleReply::Wait { retry_after } = throttles.apply(&throttle_key(&address), op, ctx.now).await? else {
        return Ok(None);
    };
    let e = OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        format!("too many registrations from this address; try again in {retry_after} s"),
    )
    .with_status(429);
    let resp = error_response(&e);
    resp.headers().set("retry-after", &retry_after.to_string())?;
    Ok(Some(resp))
}

/// The metadata of a registration without an initial access token: within
/// the limits of open registration, or refused.
fn open_metadata(body: OAuthResult<Value>) -> OAuthResult<ClientMetadata> {
    let body = body?;
    let metadata = parse_client_metadata(&body)?;
    check_limits(&body, &metadata)?;
    Ok(metadata)
}

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    let access = initial_access(&req, ctx)?;
    if matches!(access, InitialAccess::Open) {
        if let Some(too_many) = admit_open(&req, ctx).await? {
            return Ok(too_many);
        }
    }
    let body = json_body(&mut req).await;
    let issued = match access {
        InitialAccess::Admin => register_as_admin(ctx, &Actor::token(&req), &body?).await??,
        InitialAccess::Open => {
            let self_registered = SelfRegistered::new(ctx.now, ctx.config.open_registration_unused_ttl);
            issue(ctx, open_metadata(body)?, Some(self_registered)).await?
        }
        InitialAccess::Token { id, secret_hash } => {
            let metadata = spend(ctx, &id, secret_hash, body.and_then(|b| parse_client_metadata(&b))).await?;
            issue(ctx, metadata, None).await?
        }
    };
    let body = build_client_information(
        &issued.record,
        issued.secret.as_deref(),
        Some(&issued.registration_token),
        &client_uri(ctx, &issued.record.client_id),
    );
    json(201, &body)
}

/// A client just registered, and what it was issued, shown once: its
/// secret (confidential clients) and its registration access token.
pub struct Issued {
    pub record: ClientRecord,
    pub secret: Option<String>,
    pub registration_token: String,
}

/// Registers a client with `metadata` (validated, within what its
/// registrant may register): a new id, a secret when it is confidential,
/// a registration access token, saved.
async fn issue(ctx: &Ctx, metadata: ClientMetadata, self_registered: Option<SelfRegistered>) -> OAuthResult<Issued> {
    let secret = new_secret(&metadata);
    let registration_token = random::token();
    let record = ClientRecord {
        client_id: random::id(),
        client_secret_hash: secret.as_deref().map(secret_hash),
        registration_access_token_hash: secret_hash(&registration_token),
        client_id_issued_at: ctx.now,
        self_registered,
        metadata,
    };
    ctx.save_client(&record).await?;
    Ok(Issued {
        record,
        secret,
        registration_token,
    })
}

/// A registration by the administrator (`ADMIN_TOKEN` at `POST /register`,
/// or the console), logged as `actor`'s: any valid metadata, privileges
/// too. Metadata that is not valid is refused (`Ok(Err)`) with every
/// member's error.
pub async fn register_as_admin(ctx: &Ctx, actor: &Actor, body: &Value) -> OAuthResult<Result<Issued, FieldErrors>> {
    let metadata = match parse_metadata_fields(body) {
        Ok(metadata) => metadata,
        Err(refused) => return Ok(Err(refused)),
    };
    let issued = issue(ctx, metadata, None).await?;
    let record = &issued.record;
    let name = record.metadata.client_name.as_deref();
    audit::record(ctx, actor, "client.create", &record.client_id, name).await;
    Ok(Ok(issued))
}

/// The administrator's deletion (`DELETE /register/{id}` with
/// `ADMIN_TOKEN`, or the console), logged as `actor`'s.
pub async fn delete_as_admin(ctx: &Ctx, actor: &Actor, client_id: &str) -> OAuthResult<()> {
    ctx.delete_client(client_id).await?;
    audit::record(ctx, actor, "client.delete", client_id, None).await;
    Ok(())
}

/// RFC 7592 §2.2: `record` with its metadata replaced by `body`'s, as
/// `manager` may change it, not yet saved; refused, `record` is as it was. A client turning confidential
/// is issued a secret, returned to be shown once; one turning public
/// loses it. The administrator's update (`PUT /register/{id}` with
/// `ADMIN_TOKEN`, or the console) and the client's own both come here.
pub fn update(record: &mut ClientRecord, body: &Value, manager: Manager) -> Result<Option<String>, FieldErrors> {
    let metadata = apply_update(record, body, manager)?;
    // A self-registered client managing itself stays within the limits
    // it registered under.
    if manager == Manager::Client && record.self_registered.is_some() {
        check_limits(body, &metadata)?;
    }
    let mut secret = None;
    record.client_secret_hash = match (
        record.client_secret_hash.take(),
        metadata.token_endpoint_auth_method.is_confidential(),
    ) {
        (Some(h), true) => Some(h),
        (None, true) => {
            secret = new_secret(&metadata);
            secret.as_deref().map(secret_hash)
        }
        (_, false) => None,
    };
    record.metadata = metadata;
    Ok(secret)
}

/// The client named in the path, if the caller may manage it, and who the
/// caller is. RFC 7592 §2: an unknown client answers 401, like a wrong
/// token, so that the endpoint does not tell which client ids exist.
async fn authorized_client(req: &Request, ctx: &Ctx, client_id: &str) -> OAuthResult<(ClientRecord, Manager)> {
    let token = http::authorization(req, "Bearer");
    let denied = || bearer_error(token.is_some(), "a valid registration access token is required");
    let record: Option<ClientRecord> = ctx.records()?.get(client_id).await?;
    match record {
        Some(r) if r.lapsed(ctx.now) => Err(denied()),
        Some(r) if ctx.is_admin(req) => Ok((r, Manager::Admin)),
        Some(r) if token.as_deref().is_some_and(|t| r.verify_registration_token(t)) => Ok((r, Manager::Client)),
        _ => Err(denied()),
    }
}

pub async fn manage(mut req: Request, ctx: &Ctx, client_id: &str) -> Reply {
    let (mut record, manager) = authorized_client(&req, ctx, client_id).await?;
    let admin = (manager == Manager::Admin).then(|| Actor::token(&req));
    if req.method() == Method::Delete {
        match &admin {
            Some(actor) => delete_as_admin(ctx, actor, client_id).await?,
            None => ctx.delete_client(client_id).await?,
        }
        return no_content();
    }
    let put = req.method() == Method::Put;
    let mut secret = None;
    if put {
        secret = update(&mut record, &json_body(&mut req).await?, manager)?;
    }
    let registration_token = random::token();
    record.registration_access_token_hash = secret_hash(&registration_token);
    ctx.save_client(&record).await?;
    if let Some(actor) = admin.as_ref().filter(|_| put) {
        audit::record(ctx, actor, "client.update", client_id, None).await;
    }
    json(
        200,
        &build_client_information(
            &record,
            secret.as_deref(),
            Some(&registration_token),
            &client_uri(ctx, client_id),
        ),
    )
}
