//! The route table: path → endpoint, with the methods each path accepts.
//! Trailing slashes are ignored (`/token/` is `/token`), as clients written
//! for django-oidc-provider expect.

use crate::endpoints::http::{error_as_page, error_response, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::{
    account, admin, assets, authorize, cors, discovery, federation, idps, introspect, jwks, logout, register,
    registration_tokens, revoke, token, userinfo, users, Ctx,
};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::decode_path_segment;
use worker::{Method, Response};

fn not_allowed(allowed: &'static str) -> Reply {
    Err(OAuthError::new(
        ErrorCode::MethodNotAllowed,
        format!("this endpoint accepts {allowed}"),
    ))
}

/// The single path segment after `prefix`, if that is all there is,
/// percent-decoded (`/admin/users/a%40b.c` names `a@b.c`).
fn tail(path: &str, prefix: &str) -> Option<String> {
    path.strip_prefix(prefix)
        .filter(|t| !t.contains('/'))
        .and_then(decode_path_segment)
}

/// Who may read an endpoint's answers from a page of another origin.
enum Cors {
    /// The origins of the client the request is about.
    Client,
    /// Any origin: `POST /register` with open registration on.
    Any,
}

/// The endpoints that answer CORS, how, and the methods a preflight
/// allows. Besides these, the [`PUBLISHED`] documents answer `*`; nothing
/// else answers CORS (design.md).
fn cors_of(path: &str, ctx: &Ctx) -> Option<(Cors, &'static str)> {
    match path {
        "/token" | "/revoke" => Some((Cors::Client, "POST")),
        "/userinfo" => Some((Cors::Client, "GET, POST")),
        "/register" if ctx.config.open_registration => Some((Cors::Any, "POST")),
        _ => None,
    }
}

/// The documents anyone may read, from any origin.
const PUBLISHED: [&str; 3] = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/jwks.json",
];

async fn dispatch(req: Request, ctx: &Ctx, path: &str) -> Reply {
    let m = req.method();
    let get = matches!(m, Method::Get | Method::Head);
    if let Some(script) = assets::script(path) {
        return if get { assets::serve(script) } else { not_allowed("GET") };
    }
    match path {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" if get => discovery::get(ctx),
        "/jwks.json" if get => jwks::get(ctx).await,
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" | "/jwks.json" => {
            not_allowed("GET")
        }
        "/authorize" if get || m == Method::Post => authorize::handle(req, ctx).await,
        "/authorize" => not_allowed("GET, POST"),
        "/token" if m == Method::Post => token::post(req, ctx).await,
        "/token" => not_allowed("POST"),
        "/userinfo" if get || m == Method::Post => userinfo::handle(req, ctx).await,
        "/userinfo" => not_allowed("GET, POST"),
        "/revoke" if m == Method::Post => revoke::post(req, ctx).await,
        "/revoke" => not_allowed("POST"),
        "/introspect" if m == Method::Post => introspect::post(req, ctx).await,
        "/introspect" => not_allowed("POST"),
        "/logout" if get || m == Method::Post => logout::handle(req, ctx).await,
        "/logout" => not_allowed("GET, POST"),
        "/register" if m == Method::Post => register::create(req, ctx).await,
        "/register" => not_allowed("POST"),
        "/admin/users" if m == Method::Post => users::create(req, ctx).await,
        "/admin/users" => not_allowed("POST"),
        "/admin/keys/rotate" if m == Method::Post => jwks::rotate(req, ctx).await,
        "/admin/keys/rotate" => not_allowed("POST"),
        "/admin/registration-tokens" if m == Method::Post => registration_tokens::create(req, ctx).await,
        "/admin/registration-tokens" => not_allowed("POST"),
        "/admin/idps" if get || m == Method::Post => idps::collection(req, ctx).await,
        "/admin/idps" => not_allowed("GET, POST"),
        "/account" => account::handle(req, ctx, path).await,
        p if p.starts_with("/account/") => account::handle(req, ctx, path).await,
        p if admin::is_console(p) => admin::handle(req, ctx, path).await,
        _ => {
            if let Some(client_id) = tail(path, "/register/") {
                return match m {
                    Method::Get | Method::Put | Method::Delete => register::manage(req, ctx, &client_id).await,
                    _ => not_allowed("GET, PUT, DELETE"),
                };
            }
            if let Some(username) = path.strip_suffix("/enrollment").and_then(|p| tail(p, "/admin/users/")) {
                return match m {
                    Method::Post => users::enrollment(&req, ctx, &username).await,
                    _ => not_allowed("POST"),
                };
            }
            if let Some((username, idp)) = path
                .strip_prefix("/admin/users/")
                .and_then(|p| p.split_once("/idp-tokens/"))
                .and_then(|(u, i)| Some((decode_path_segment(u)?, decode_path_segment(i)?)))
            {
                return match m {
                    Method::Get => users::idp_tokens(&req, ctx, &username, &idp).await,
                    _ => not_allowed("GET"),
                };
            }
            if let Some(username) = tail(path, "/admin/users/") {
                return match m {
                    Method::Get | Method::Put | Method::Delete => users::manage(req, ctx, &username).await,
                    _ => not_allowed("GET, PUT, DELETE"),
                };
            }
            if let Some(id) = tail(path, "/admin/idps/") {
                return match m {
                    Method::Get | Method::Put | Method::Delete => idps::manage(req, ctx, &id).await,
                    _ => not_allowed("GET, PUT, DELETE"),
                };
            }
            if let Some(id) = path.strip_suffix("/callback").and_then(|p| tail(p, "/federation/")) {
                return match m {
                    Method::Get | Method::Post => federation::callback::handle(req, ctx, &id).await,
                    _ => not_allowed("GET, POST"),
                };
            }
            if let Some(id) = tail(path, "/admin/registration-tokens/") {
                return match m {
                    Method::Delete => registration_tokens::revoke(&req, ctx, &id).await,
                    _ => not_allowed("DELETE"),
                };
            }
            Err(OAuthError::new(ErrorCode::NotFound, "no such endpoint"))
        }
    }
}

/// An error that reached the route table. `/authorize` and `/logout` are
/// opened by a person's browser: there a storage failure is the page
/// saying the service is briefly unavailable, not JSON. (The console, the
/// account pages and the federation callback make their own error pages.)
fn failed(path: &str, e: &OAuthError) -> Response {
    let page = matches!(path, "/authorize" | "/logout") && e.retry_after().is_some();
    match page.then(|| error_as_page("", e, &[])) {
        Some(Ok(resp)) => resp,
        _ => error_response(e),
    }
}

pub async fn route(req: Request, ctx: &Ctx) -> Response {
    let trimmed = match req.url().path.trim_end_matches('/') {
        "" => "/",
        p => p,
    }
    .to_string();
    let Some((cors, methods)) = cors_of(&trimmed, ctx) else {
        let resp = dispatch(req, ctx, &trimmed)
            .await
            .unwrap_or_else(|e| failed(&trimmed, &e));
        // Every answer of a published document, a 503 included, so that a
        // page reading it learns of the failure and its `Retry-After`
        // rather than of a CORS refusal.
        return match PUBLISHED.contains(&trimmed.as_str()) {
            true => cors::answer_public(resp),
            false => resp,
        };
    };
    let origin = req.header("origin");
    if req.method() == Method::Options {
        return cors::preflight(origin.as_deref(), methods).unwrap_or_else(|e| error_response(&e));
    }
    let resp = dispatch(req, ctx, &trimmed)
        .await
        .unwrap_or_else(|e| error_response(&e));
    match cors {
        Cors::Client => cors::answer(resp, origin.as_deref(), ctx.identified.borrow().as_ref()),
        Cors::Any => cors::answer_any(resp, origin.as_deref()),
    }
}
