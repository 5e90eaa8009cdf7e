//! Dynamic client registration: `POST /register` (RFC 7591) and the client
//! configuration endpoint `GET/PUT/DELETE /register/{client_id}` (RFC 7592).
//!
//! Registration needs `ADMIN_TOKEN` as the initial access token (RFC 7591
//! §3). Configuration calls take the client's registration access token or
//! the admin token. Every successful read or update issues a new
//! registration access token (RFC 7592 §3 requires one in the response, and
//! only its hash is kept), so the previous one stops working.

use super::http::{json, json_body, no_content, Reply};
use super::{bearer_error, forget_client, http, Ctx};
use crate::endpoints::request::Request;
use crate::protocol::client::{
    apply_update, build_client_information, parse_client_metadata, ClientMetadata, ClientRecord,
};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::random;
use crate::store::RecordStore;
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

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    let metadata = parse_client_metadata(&json_body(&mut req).await?)?;
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
    ctx.records()?.put(&record).await?;
    let body = build_client_information(
        &record,
        secret.as_deref(),
        Some(&registration_token),
        &client_uri(ctx, &client_id),
    );
    json(201, &body)
}

/// The client named in the path, if the caller may manage it. RFC 7592 §2:
/// an unknown client answers 401, like a wrong token, so that the
/// endpoint does not tell which client ids exist.
async fn authorized_client(req: &Request, ctx: &Ctx, client_id: &str) -> OAuthResult<ClientRecord> {
    let token = http::authorization(req, "Bearer");
    let denied = || bearer_error(token.is_some(), "a valid registration access token is required");
    let record: Option<ClientRecord> = ctx.records()?.get(client_id).await?;
    match record {
        Some(r) if ctx.is_admin(req) || token.as_deref().is_some_and(|t| r.verify_registration_token(t)) => Ok(r),
        _ => Err(denied()),
    }
}

pub async fn manage(mut req: Request, ctx: &Ctx, client_id: &str) -> Reply {
    let mut record = authorized_client(&req, ctx, client_id).await?;
    let store = ctx.records()?;
    if req.method() == Method::Delete {
        RecordStore::<ClientRecord>::delete(&store, client_id).await?;
        forget_client(client_id);
        return no_content();
    }
    let mut secret = None;
    if req.method() == Method::Put {
        let metadata = apply_update(&record, &json_body(&mut req).await?)?;
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
    store.put(&record).await?;
    forget_client(client_id);
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
