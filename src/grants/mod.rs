//! Orchestration of each grant and of logins: async, generic over the store
//! traits, tested on the host with the in-memory stores.

pub mod authorization_code;
pub mod client_credentials;
pub mod mint;
pub mod passkey;
pub mod password;
pub mod refresh_token;
pub mod sign_in;

#[cfg(test)]
pub mod testing;

use crate::config::Config;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::grant::{Grant, GrantOp};
use crate::protocol::user::UserRevocation;
use crate::store::{GrantStore, RecordStore};

/// What every grant needs to know about where and when it runs.
pub struct Site<'a> {
    pub issuer: &'a str,
    pub config: &'a Config,
    pub now: u64,
}

/// Codes and refresh tokens are `<grant id>.<secret>`: the grant id finds
/// the grant's Durable Object without a lookup; only the secret's hash is
/// stored.
pub fn compose_token(grant_id: &str, secret: &str) -> String {
    format!("{grant_id}.{secret}")
}

/// A compact JWS (our access and ID tokens) has two dots; codes and
/// refresh tokens have one.
pub fn is_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

pub fn split_token(token: &str) -> Option<(&str, &str)> {
    token
        .split_once('.')
        .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
}

/// Applies `op` to a grant for new tokens: the grant's own refusal, or
/// `invalid_grant` when its user has since been deleted, had their grants
/// revoked, or withdrawn their consent to its client (whatever the grant
/// still holds, its code or its refresh chain, yields nothing more).
pub async fn grant_for_tokens(
    grants: &dyn GrantStore,
    users: &dyn RecordStore<UserRevocation>,
    grant_id: &str,
    op: GrantOp,
    now: u64,
) -> OAuthResult<Box<Grant>> {
    let grant = grants.apply(grant_id, op, now).await?.into_grant()?;
    if let Some(voided) = users.get(&grant.sub).await?.and_then(|r| r.voids(&grant)) {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, voided.description()));
    }
    Ok(grant)
}
