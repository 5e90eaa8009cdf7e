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
use crate::protocol::grant::{Grant, GrantOp, GrantReply};
use crate::protocol::user::UserRevocation;
use crate::store::{GrantStore, RecordStore, StoreError, StoreResult};
use serde_json::Value;

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
///
/// From the moment the grant's object has consumed the code or rotated the
/// refresh token, a step that fails to reach storage (the user's
/// revocations here, the signing keys in [`Issued::answer`]) leaves the
/// client with a 503 and no tokens; its retry would then meet a used code
/// or a superseded token and revoke the grant. So the object is asked to
/// undo the operation first (`GrantOp::undo`), which it does only while the
/// grant is exactly as this request left it: the retry then works, once.
pub async fn grant_for_tokens<'a>(
    grants: &'a dyn GrantStore,
    users: &dyn RecordStore<UserRevocation>,
    grant_id: &'a str,
    op: GrantOp,
    now: u64,
) -> OAuthResult<Issued<'a>> {
    let undo = op.undo();
    let grant = grants.apply(grant_id, op, now).await?.into_grant()?;
    let issued = Issued {
        grant,
        grants,
        grant_id,
        undo,
        now,
    };
    let revocation = match users.get(&issued.grant.sub).await {
        Ok(found) => found,
        Err(e) => return Err(issued.undo(e).await),
    };
    if let Some(voided) = revocation.and_then(|r| r.voids(&issued.grant)) {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, voided.description()));
    }
    Ok(issued)
}

/// A grant whose object has just handed out new tokens (a code redeemed, a
/// refresh token rotated), until its token response is made.
pub struct Issued<'a> {
    pub grant: Box<Grant>,
    grants: &'a dyn GrantStore,
    grant_id: &'a str,
    undo: Option<GrantOp>,
    now: u64,
}

impl Issued<'_> {
    /// The token response, or the storage failure that kept it from being
    /// made, after undoing the operation (see [`grant_for_tokens`]).
    pub async fn answer(self, minted: StoreResult<Value>) -> OAuthResult<Value> {
        match minted {
            Ok(body) => Ok(body),
            Err(e) => Err(self.undo(e).await),
        }
    }

    /// Undoes the operation after `failure`; the failure is what the
    /// client gets (503). An undo that fails or is refused is logged: the
    /// grant then stays as the operation left it, as it would without one.
    async fn undo(&self, failure: StoreError) -> OAuthError {
        if let Some(op) = self.undo.clone() {
            let outcome = match self.grants.apply(self.grant_id, op, self.now).await {
                Ok(GrantReply::Ok { .. }) => "undone".to_owned(),
                Ok(GrantReply::Refused { refusal }) => format!("not undone ({refusal:?})"),
                Err(e) => format!("not undone ({e})"),
            };
            crate::log::error(&format!("grant {}: {outcome} after: {failure}", self.grant_id));
        }
        failure.into()
    }
}
