//! `GET, POST /userinfo` (OIDC Core §5.3): the claims the granted scopes
//! allow. The access token may come as an `Authorization: Bearer` header, a
//! form body `access_token`, or a `?access_token=` query parameter (RFC 6750
//! §2.1–2.3; the last is what clients of django-oidc-provider send).

use super::access::verify_access_token;
use super::http::{authorization, content_type, json, query_params, read_body, utf8, Reply};
use super::{bearer_error, Ctx};
use crate::endpoints::request::Request;
use crate::protocol::error::{invalid_request, Challenge, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::parse_form;
use crate::protocol::resource::userinfo_audience;
use crate::protocol::user::claims_for_scopes;
use serde_json::Value;
use worker::Method;

/// RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the
/// token in each request."
async fn presented_token(req: &mut Request) -> OAuthResult<Option<String>> {
    let mut found = Vec::new();
    found.extend(authorization(req, "Bearer"));
    found.extend(query_params(req)?.get("access_token").map(str::to_string));
    if req.method() == Method::Post && content_type(req) == "application/x-www-form-urlencoded" {
        found.extend(
            parse_form(utf8(&read_body(req).await?)?)?
                .get("access_token")
                .map(str::to_string),
        );
    }
    match found.len() {
        0 | 1 => Ok(found.pop()),
        // RFC 6750 §3.1: 400 invalid_request, with its Bearer challenge.
        _ => Err(invalid_request("the access token was sent in more than one way").with_challenge(Challenge::Bearer)),
    }
}

pub async fn handle(mut req: Request, ctx: &Ctx) -> Reply {
    let Some(token) = presented_token(&mut req).await? else {
        return Err(bearer_error(false, "an access token is required"));
    };
    let (token, grant) = verify_access_token(ctx, &token).await.map_err(|e| match e.code {
        ErrorCode::InvalidToken => e.with_challenge(Challenge::Bearer),
        _ => e,
    })?;
    // RFC 7519 §4.1.3: a token for other resources only (RFC 8707) is not
    // for us to honour.
    if !token.is_for(&userinfo_audience(&ctx.issuer)) {
        return Err(
            OAuthError::new(ErrorCode::InvalidToken, "the access token is not meant for userinfo")
                .with_challenge(Challenge::Bearer),
        );
    }
    // OIDC Core §5.3: userinfo serves tokens from OpenID requests; a
    // client_credentials token has no user behind it.
    let grant = match grant {
        Some(g) if token.scope.iter().any(|s| s == "openid") => g,
        _ => {
            return Err(
                OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the openid scope")
                    .with_challenge(Challenge::Bearer),
            )
        }
    };
    json(
        200,
        &Value::Object(claims_for_scopes(&grant.sub, &grant.claims, &token.scope)),
    )
}
