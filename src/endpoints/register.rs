//! Dynamic client registration: `POST /register` (RFC 7591) and the client
//! configuration endpoint `GET/PUT/DELETE /register/{client_id}` (RFC 7592).
//!
//! Registration needs an initial access token (RFC 7591 §3): `ADMIN_TOKEN`,
//! which may register anything, or a registration token the admin minted,
//! which may register what its terms allow. Configuration calls take the
//! client's registration access token, which changes descriptive metadata
//! and redirect URIs only, or the admin token, which changes anything
//! (`protocol::privilege`). Every successful read or update issues a new
//! registration access token (RFC 7592 §3 requires one in the response,
//! and only its hash is kept), so the previous one stops working.

use super::http::{json, json_body, no_content, Reply};
use super::{bearer_error, http, Ctx};
use crate::endpoints::request::Request;
use crate::protocol::client::{
    apply_update, build_client_information, parse_client_metadata, ClientMetadata, ClientRecord,
};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::privilege::{Manager, Privileges};
use crate::protocol::registration_token::{split_presented, TokenOp, TokenReply};
use crate::random;
use crate::store::{ObjectStore, RecordStore};
use worker::Method;

fn client_uri(ctx: &Ctx, client_id: &str) -> String {
    format!("{}/register/{client_id}", ctx.issuer)
}

/// A secret for a confidential client, none for a public one.
fn new_secret(metadata: &ClientMetadata) -> Option<String> {
    metadata
        .token_endpoint_auth_method
        .is_confidential()
        .then(random::token)
}

/// The initial access token a registration came with.
enum InitialAccess {
    Admin,
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

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    let access = initial_access(&req, ctx)?;
    let metadata = json_body(&mut req).await.and_then(|body| parse_client_metadata(&body));
    let metadata = match access {
        InitialAccess::Admin => metadata?,
        InitialAccess::Token { id, secret_hash } => spend(ctx, &id, secret_hash, metadata).await?,
    };
    let client_id = random::id();
    let secret = new_secret(&metadata);
    let registration_token = random::token();
    let record = ClientRecord {
        client_id: client_id.clone(),
        client_secret_hash: secret.as_deref().map(secret_hash),
        registration_access_token_hash: secret_hash(&registration_token),
        client_id_issued_at: ctx.now,
        metadata,
    };
    ctx.save_client(&record).await?;
    let body = build_client_information(
        &record,
        secret.as_deref(),
        Some(&registration_token),
        &client_uri(ctx, &client_id),
    );
    json(201, &body)
}

/// The client named in the path, if the caller may manage it, and who the
/// caller is. RFC 7592 §2: an unknown client answers 401, like a wrong
/// token, so that the endpoint does not tell which client ids exist.
async fn authorized_client(req: &Request, ctx: &Ctx, client_id: &str) -> OAuthResult<(ClientRecord, Manager)> {
    let token = http::authorization(req, "Bearer");
    let denied = || bearer_error(token.is_some(), "a valid registration access token is required");
    let record: Option<ClientRecord> = ctx.records()?.get(client_id).await?;
    match record {
        Some(r) if ctx.is_admin(req) => Ok((r, Manager::Admin)),
        Some(r) if token.as_deref().is_some_and(|t| r.verify_registration_token(t)) => Ok((r, Manager::Client)),
        _ => Err(denied()),
    }
}

pub async fn manage(mut req: Request, ctx: &Ctx, client_id: &str) -> Reply {
    let (mut record, manager) = authorized_client(&req, ctx, client_id).await?;
    if req.method() == Method::Delete {
        ctx.delete_client(client_id).await?;
        return no_content();
    }
    let mut secret = None;
    if req.method() == Method::Put {
        let metadata = apply_update(&record, &json_body(&mut req).await?, manager)?;
        // A client turning confidential needs a secret; one turning public
        // must lose it.
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
    }
    let registration_token = random::token();
    record.registration_access_token_hash = secret_hash(&registration_token);
    ctx.save_client(&record).await?;
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
