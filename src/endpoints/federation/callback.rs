//! `GET, POST /federation/{id}/callback`: the upstream's answer (a query,
//! or a form post with `response_mode=form_post`). Nothing in it is
//! trusted until the state is: ours (sealed), fresh, for this provider
//! (RFC 9700 §4.4 mix-up: the provider each state went to is in it, and
//! each provider has its own callback), from this browser (its federation
//! cookie), and used for the first time. Then the code is redeemed at the
//! token endpoint with the PKCE verifier, and the identity verified: the
//! ID token fully (signature, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`)
//! for an OpenID provider, the user-info answer for a plain OAuth one.

use super::accounts::{arrive, client_secret, failed as accounts_failed};
use super::{
    alert, enabled_provider, failure, metadata, redirect_uri, upstream_document, Resume, RoundTrip, NONCE, PURPOSE,
    VERIFIER,
};
use crate::endpoints::browser::{first_use, form_secret, page_error, page_params, read_browser, stale_form};
use crate::endpoints::http::{error_as_page, redirect, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::Ctx;
use crate::protocol::encoding::{ct_eq, secret_hash};
use crate::protocol::error::OAuthError;
use crate::protocol::federation::discovery::UpstreamMetadata;
use crate::protocol::federation::id_token::{parse_id_token, Expected};
use crate::protocol::federation::identity::{identity, merge_userinfo, parse_userinfo, UpstreamIdentity};
use crate::protocol::federation::jwks::{parse_jwks, select_key};
use crate::protocol::federation::provider::{ProviderKind, ProviderRecord};
use crate::protocol::federation::request::{
    check_response_iss, parse_token_response, token_request, userinfo_request, KeptTokens, UpstreamTokens,
};
use crate::protocol::federation::FederationError;
use crate::protocol::handle::{derive, open};
use crate::protocol::params::Params;
use crate::store::upstream::{send, UpstreamRequest, TIMEOUT_MS};
use crate::store::webcrypto::WebCryptoVerifier;
use crate::store::{SignatureVerifier, StoreError};
use serde_json::{Map, Value};
use worker::Method;

/// The callback, its errors as pages: a person is looking at it.
pub async fn handle(req: Request, ctx: &Ctx, idp: &str) -> Reply {
    answer(req, ctx, idp)
        .await
        .or_else(|e| error_as_page("Signing in", &e, &[]))
}

async fn answer(mut req: Request, ctx: &Ctx, idp: &str) -> Reply {
    let post = req.method() == Method::Post;
    let params = page_params(&mut req).await?;
    if post {
        return as_get(&params, req.url().path);
    }
    let mut browser = read_browser(&req, ctx, false).await?;
    let secret = form_secret(ctx).await?;
    let trip = params
        .get("state")
        .and_then(|state| open::<RoundTrip<Resume>>(&secret, PURPOSE, state, ctx.now));
    let Some(trip) = trip else {
        return stale_form(&browser);
    };
    if trip.data.idp != idp {
        return page_error(
            &browser,
            "This answer came back from another provider than the one the sign-in went to.",
        );
    }
    let bound = browser
        .federation
        .as_deref()
        .is_some_and(|value| ct_eq(secret_hash(value).as_bytes(), trip.data.binding.as_bytes()));
    if !bound || !first_use(ctx, &format!("federation:{}", trip.id), trip.expires_at).await? {
        return stale_form(&browser);
    }
    let resume = trip.data.resume;
    let Some(provider) = enabled_provider(ctx, idp).await? else {
        return accounts_failed(
            ctx,
            &mut browser,
            resume,
            "That way of signing in is not available any more.",
        )
        .await;
    };
    let derived = |label| derive(&secret, label, &trip.id);
    match sign_in_upstream(ctx, &provider, &params, &derived(VERIFIER), &derived(NONCE)).await {
        Ok((found, tokens)) => {
            let kept = provider.keep_tokens.then(|| KeptTokens::new(&tokens, ctx.now));
            arrive(ctx, &mut browser, &provider, found, kept, resume).await
        }
        Err(Failed::Upstream(e)) => {
            worker::console_warn!("federation {idp}: {}", e.log_reason());
            accounts_failed(ctx, &mut browser, resume, &alert(&provider.name, &e)).await
        }
        Err(Failed::Here(e)) => Err(e),
    }
}

/// A `response_mode=form_post` answer, sent on as a GET of the same
/// callback with the same parameters. The upstream's page posted it
/// cross-site, and browsers withhold SameSite=Lax cookies (the session's,
/// the CSRF nonce's) from a cross-site POST, but send them with a top-level
/// GET: the callback then sees the browser as it is (its session, for
/// linking from the account page). Nothing is checked or used up here.
fn as_get(params: &Params, path: &str) -> Reply {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for name in ["code", "state", "iss", "error", "error_description"] {
        if let Some(value) = params.get(name) {
            query.append_pair(name, value);
        }
    }
    redirect(true, &format!("{path}?{}", query.finish()), &[])
}

/// Why a callback did not sign anyone in: the upstream (said on the page
/// the person came from), or our own platform (an error like any other).
enum Failed {
    Upstream(FederationError),
    Here(OAuthError),
}

impl From<FederationError> for Failed {
    fn from(e: FederationError) -> Self {
        Failed::Upstream(e)
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Failed::Here(e.into())
    }
}

impl From<OAuthError> for Failed {
    fn from(e: OAuthError) -> Self {
        Failed::Here(e)
    }
}

/// Redeems the answer's code and verifies who signed in.
async fn sign_in_upstream(
    ctx: &Ctx,
    provider: &ProviderRecord,
    params: &Params,
    verifier: &str,
    nonce: &str,
) -> Result<(UpstreamIdentity, UpstreamTokens), Failed> {
    let meta = metadata(ctx, provider).await?;
    check_response_iss(&meta, params.get("iss"))?;
    if let Some(error) = params.get("error") {
        return Err(FederationError::refused(error, params.get("error_description")).into());
    }
    let code = params
        .get("code")
        .ok_or_else(|| FederationError::BadResponse("the answer carries no code".into()))?;
    let secret = client_secret(ctx, provider).await?;
    let token = token_request(
        &meta,
        provider,
        &redirect_uri(ctx, &provider.id),
        code,
        verifier,
        &secret,
    );
    let answer = send(
        &UpstreamRequest {
            method: "POST",
            url: token.url,
            headers: token.headers,
            body: Some(token.body),
        },
        TIMEOUT_MS,
    )
    .await
    .map_err(failure)?;
    let tokens = parse_token_response(answer.status, &answer.body)?;
    let (issuer, claims) = match provider.kind {
        ProviderKind::Oidc => {
            let id_token = tokens
                .id_token
                .as_deref()
                .ok_or_else(|| FederationError::BadResponse("the token response carries no ID token".into()))?;
            let claims = verified_id_token(ctx, &meta, provider, id_token, nonce).await?;
            // Many providers put only `sub` in the ID token (OIDC Core
            // §5.4: the profile and email claims "are returned from the
            // UserInfo Endpoint").
            let claims = match meta.userinfo_endpoint {
                Some(_) => merge_userinfo(claims, user_info(&meta, &tokens.access_token).await?)?,
                None => claims,
            };
            (meta.issuer.clone().unwrap_or_default(), claims)
        }
        ProviderKind::OAuth2 => (provider.link_issuer(), user_info(&meta, &tokens.access_token).await?),
    };
    Ok((identity(provider, &issuer, &claims)?, tokens))
}

/// The ID token's claims once its signature is good (a key of the
/// provider's set, fetched again once if the token names a key the cached
/// set lacks: the provider has rotated) and its claims check out.
async fn verified_id_token(
    ctx: &Ctx,
    meta: &UpstreamMetadata,
    provider: &ProviderRecord,
    id_token: &str,
    nonce: &str,
) -> Result<Map<String, Value>, Failed> {
    let token = parse_id_token(id_token)?;
    let jwks_uri = meta
        .jwks_uri
        .as_deref()
        .ok_or_else(|| FederationError::BadResponse("the provider publishes no keys".into()))?;
    let mut keys = parse_jwks(&upstream_document(ctx, jwks_uri, false).await?)?;
    if select_key(&keys, token.alg, token.kid.as_deref()).is_none() {
        keys = parse_jwks(&upstream_document(ctx, jwks_uri, true).await?)?;
    }
    let key = select_key(&keys, token.alg, token.kid.as_deref())
        .ok_or_else(|| FederationError::InvalidIdToken("signed with a key the provider does not publish".into()))?;
    if !WebCryptoVerifier
        .verify(&key.key, &token.signing_input, &token.signature)
        .await?
    {
        return Err(FederationError::InvalidIdToken("its signature is not the provider's".into()).into());
    }
    let expected = Expected {
        issuer: meta.issuer.as_deref().unwrap_or_default(),
        client_id: &provider.client_id,
        nonce,
        allowed_algs: &meta.id_token_signing_alg_values_supported,
        now: ctx.now,
    };
    Ok(token.check(&expected)?)
}

/// A provider's user-info answer, with the access token.
async fn user_info(meta: &UpstreamMetadata, access_token: &str) -> Result<Map<String, Value>, Failed> {
    let (url, headers) = userinfo_request(meta, access_token)?;
    let request = UpstreamRequest {
        method: "GET",
        url,
        headers,
        body: None,
    };
    let answer = send(&request, TIMEOUT_MS).await.map_err(failure)?;
    Ok(parse_userinfo(answer.status, &answer.body)?)
}
