//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2), and the ID token it returns (OIDC Core §12.2).

use super::mint::{mint, Subject};
use super::{compose_token, invalid_grant, split_token, Site};
use crate::protocol::client::ClientRecord;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::grant::{GrantOp, GrantReply, RefreshRotation, Refusal};
use crate::protocol::scope::parse_scope;
use crate::random;
use crate::store::{GrantStore, TokenSigner};
use serde_json::Value;

/// Rotates `refresh_token` and mints new tokens. The grant checks the
/// token, its client, its lifetimes and the scope, and swaps in the new
/// token's hash, all in one step: of concurrent refreshes one wins.
pub async fn refresh(
    grants: &dyn GrantStore,
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    client: &ClientRecord,
    refresh_token: &str,
    scope: Option<&str>,
) -> OAuthResult<Value> {
    let (grant_id, secret) = split_token(refresh_token).ok_or(invalid_grant(Refusal::Mismatch))?;
    let requested_scopes = scope.map(parse_scope).transpose()?;
    let new_secret = random::token();
    let rotation = RefreshRotation {
        requested_scopes: requested_scopes.clone(),
        presented_hash: secret_hash(secret),
        new_hash: secret_hash(&new_secret),
        client_id: client.client_id.clone(),
        idle_ttl: site.config.refresh_token_idle_ttl,
        access_token_exp: site.now + site.config.access_token_ttl,
    };
    let grant = match grants
        .apply(grant_id, GrantOp::RotateRefresh(rotation), site.now)
        .await?
    {
        GrantReply::Ok { grant } => grant,
        GrantReply::Refused { refusal } => return Err(invalid_grant(refusal)),
    };
    let scopes = requested_scopes.unwrap_or_else(|| grant.scopes.clone());
    // OIDC Core §12.2: the new ID token keeps `auth_time` of the original
    // authentication and carries no `nonce`.
    let subject = Subject {
        sub: &grant.sub,
        client,
        scopes: &scopes,
        auth_time: Some(grant.auth_time),
        nonce: None,
        sid: grant.sid.as_deref(),
        grant_id: Some(grant_id),
    };
    let new_token = compose_token(grant_id, &new_secret);
    Ok(mint(signer, site, &subject, Some(&new_token)).await?)
}
