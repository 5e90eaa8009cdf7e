//! Minting the tokens of a token response: the JWT access token (RFC 9068),
//! the ID token (OIDC Core §3.1.3.6) and the response body (RFC 6749 §5.1).

use super::Site;
use crate::protocol::client::ClientRecord;
use crate::protocol::grant::Grant;
use crate::protocol::resource::audience;
use crate::protocol::scope;
use crate::protocol::token::{
    access_token_claims, id_token_claims, token_response, AccessTokenClaims, IdTokenClaims, TokenResponse,
};
use crate::random;
use crate::store::{StoreResult, TokenSigner};
use serde_json::Value;

/// How and when the person signed in.
pub struct SignedIn<'a> {
    pub auth_time: u64,
    pub amr: &'a [String],
    pub acr: Option<&'a str>,
    pub idp: Option<&'a str>,
}

impl<'a> SignedIn<'a> {
    /// The sign-in behind a grant: the same for the ID token of the code
    /// exchange and of every refresh (OIDC Core §12.2: the refreshed ID
    /// token is about the original authentication).
    pub fn of(grant: &'a Grant) -> Self {
        Self {
            auth_time: grant.auth_time,
            amr: &grant.amr,
            acr: grant.acr.as_deref(),
            idp: grant.idp.as_deref(),
        }
    }
}

/// Who and what the tokens are for.
pub struct Subject<'a> {
    pub sub: &'a str,
    pub client: &'a ClientRecord,
    pub scopes: &'a [String],
    /// `None` for `client_credentials`: no person, so no ID token.
    pub signed_in: Option<SignedIn<'a>>,
    pub nonce: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub grant_id: Option<&'a str>,
    /// RFC 8707 resources the access token is for.
    pub resources: &'a [String],
}

/// Signs the access token and, for OpenID requests, the ID token, and
/// builds the token response.
pub async fn mint(
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    s: &Subject<'_>,
    refresh_token: Option<&str>,
) -> StoreResult<Value> {
    let scope = scope::join(s.scopes);
    let audience = audience(site.issuer, s.resources, s.scopes);
    let jti = random::id();
    let ttl = site.config.access_token_ttl;
    let at_claims = access_token_claims(&AccessTokenClaims {
        issuer: site.issuer,
        audience: &audience,
        sub: s.sub,
        client_id: &s.client.client_id,
        scope: &scope,
        now: site.now,
        ttl,
        jti: &jti,
        grant_id: s.grant_id,
        auth_time: s.signed_in.as_ref().map(|x| x.auth_time),
    });
    let access_token = signer.sign(site.config.access_token_alg, "at+jwt", &at_claims).await?;
    let id_token = match (s.scopes.iter().any(|x| x == "openid"), &s.signed_in) {
        (true, Some(signed_in)) => {
            let alg = s.client.metadata.id_token_signed_response_alg;
            let claims = id_token_claims(&IdTokenClaims {
                issuer: site.issuer,
                sub: s.sub,
                client_id: &s.client.client_id,
                now: site.now,
                ttl: site.config.id_token_ttl,
                auth_time: signed_in.auth_time,
                amr: signed_in.amr,
                acr: signed_in.acr,
                idp: signed_in.idp,
                nonce: s.nonce,
                access_token: Some(&access_token),
                alg,
                sid: s.sid,
            });
            Some(signer.sign(alg, "JWT", &claims).await?)
        }
        _ => None,
    };
    Ok(token_response(&TokenResponse {
        access_token: &access_token,
        expires_in: ttl,
        scope: &scope,
        id_token: id_token.as_deref(),
        refresh_token,
    }))
}
