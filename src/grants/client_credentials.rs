//! The client credentials grant (RFC 6749 §4.4): an access token for the
//! client itself, with no user, no ID token and no refresh token (§4.4.3:
//! "A refresh token SHOULD NOT be included").

use super::mint::{mint, Subject};
use super::Site;
use crate::protocol::client::ClientRecord;
use crate::protocol::error::OAuthResult;
use crate::protocol::scope::{narrow, parse_scope};
use crate::store::TokenSigner;
use serde_json::Value;

/// Scopes are limited to those the client registered (`scope` metadata);
/// without a `scope` parameter it gets all of them.
pub async fn issue(
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    client: &ClientRecord,
    scope: Option<&str>,
) -> OAuthResult<Value> {
    let registered = parse_scope(client.metadata.scope.as_deref().unwrap_or_default())?;
    let scopes = narrow(scope, &registered)?;
    let subject = Subject {
        sub: &client.client_id,
        client,
        scopes: &scopes,
        auth_time: None,
        nonce: None,
        sid: None,
        grant_id: None,
    };
    Ok(mint(signer, site, &subject, None).await?)
}
