//! `POST /token` (RFC 6749 §3.2): client authentication, then the grant.
//! Every answer, errors included, carries `Cache-Control: no-store` and
//! `Pragma: no-cache` (§5.1), which `http::json` and `http::error_response`
//! always set.

use super::http::{body_params, json, Reply};
use super::{authenticate_client, Ctx};
use crate::endpoints::request::Request;
use crate::grants::{authorization_code, client_credentials, refresh_token, Site};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::token::{parse_token_request, TokenRequest};
use crate::store::durable::DurableGrants;
use crate::store::keys::PlatformSigner;

pub async fn post(mut req: Request, ctx: &Ctx) -> Reply {
    let params = body_params(&mut req).await?;
    // RFC 6749 §4.1.3, §6, §4.4.2: `grant_type` is REQUIRED. Without it
    // there is no token request at all, so it is asked for before client
    // authentication: an empty request is 400 `invalid_request`.
    params.require("grant_type")?;
    let client = authenticate_client(&req, &params, ctx).await?;
    let grant = parse_token_request(&params)?;
    // RFC 6749 §5.2 unauthorized_client: "The authenticated client is not
    // authorized to use this authorization grant type."
    if !client.allows_grant(grant.grant_type()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client is not registered for this grant type",
        ));
    }
    let site = Site {
        issuer: &ctx.issuer,
        config: &ctx.config,
        now: ctx.now,
    };
    let signer = PlatformSigner {
        env: &ctx.env,
        config: &ctx.config,
        now: ctx.now,
    };
    let body = match grant {
        TokenRequest::AuthorizationCode(request) => {
            let grants = DurableGrants(ctx.env.durable_object("GRANTS")?);
            let users = ctx.revocations();
            let key = crate::store::secrets::code_key(&ctx.env).await?;
            let body = authorization_code::exchange(&grants, &key, &users, &signer, &site, &client, request).await?;
            // The code is used up: its tokens go out even if keeping the
            // registration fails (it is tried again at the next exchange).
            if let Err(e) = ctx.keep_registration(&client).await {
                crate::log::error(&format!("keeping a self-registered client: {e}"));
            }
            body
        }
        TokenRequest::RefreshToken(request) => {
            let grants = DurableGrants(ctx.env.durable_object("GRANTS")?);
            let users = ctx.revocations();
            refresh_token::refresh(&grants, &users, &signer, &site, &client, &request).await?
        }
        TokenRequest::ClientCredentials { scope, resources } => {
            client_credentials::issue(&signer, &site, &client, scope.as_deref(), &resources).await?
        }
    };
    json(200, &body)
}
