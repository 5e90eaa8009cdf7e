//! Request reading and response writing shared by every endpoint: body
//! limits, content types, bearer tokens, and the one place an
//! [`OAuthError`] becomes an HTTP response.

use crate::config::{is_https, STRICT_TRANSPORT_SECURITY};
use crate::endpoints::request::Request;
use crate::protocol::error::{invalid_request, server_error, OAuthError, OAuthResult};
use crate::protocol::params::{parse_form, parse_json_params, Params};
use crate::ui::Page;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use worker::worker_sys::web_sys;
use worker::{Headers, Response};

pub type Reply = OAuthResult<Response>;

/// No protocol request needs more; anything larger is refused unread.
pub const MAX_BODY: usize = 64 * 1024;

impl From<worker::Error> for OAuthError {
    fn from(e: worker::Error) -> Self {
        worker::console_error!("platform error: {e}");
        server_error()
    }
}

/// The media type of the body, without parameters, lower-cased.
pub fn content_type(req: &Request) -> String {
    req.header("content-type")
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Reads the body, refusing it (413) past [`MAX_BODY`] whether or not a
/// `Content-Length` was sent.
pub async fn read_body(req: &mut Request) -> OAuthResult<Vec<u8>> {
    let too_large = || invalid_request(format!("the request body is larger than {MAX_BODY} bytes")).with_status(413);
    let declared = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| invalid_request("the request body could not be read"))?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(body)
}

pub fn utf8(body: &[u8]) -> OAuthResult<&str> {
    std::str::from_utf8(body).map_err(|_| invalid_request("the request body is not valid UTF-8"))
}

/// A JSON document body (`application/json` required).
pub async fn json_body(req: &mut Request) -> OAuthResult<Value> {
    if content_type(req) != "application/json" {
        return Err(invalid_request("the request body must be application/json").with_status(415));
    }
    let body = read_body(req).await?;
    serde_json::from_str(utf8(&body)?).map_err(|e| invalid_request(format!("the request body is not valid JSON: {e}")))
}

/// Parameters from a form or JSON body: the token-style endpoints accept
/// both, as rodauth-oauth's clients send JSON. No body at all (and no
/// content type) is a request without parameters, which the endpoint then
/// refuses for the first one it needs (400 `invalid_request`), not 415:
/// nothing was sent in a wrong media type.
pub async fn body_params(req: &mut Request) -> OAuthResult<Params> {
    match content_type(req).as_str() {
        "application/x-www-form-urlencoded" => parse_form(utf8(&read_body(req).await?)?),
        "application/json" => parse_json_params(&json_body(req).await?),
        "" if read_body(req).await?.is_empty() => Ok(Params::default()),
        _ => Err(
            invalid_request("the request body must be application/x-www-form-urlencoded or application/json")
                .with_status(415),
        ),
    }
}

/// The query string's parameters.
pub fn query_params(req: &Request) -> OAuthResult<Params> {
    parse_form(req.url().query)
}

/// The raw `Authorization` header.
pub fn authorization_header(req: &Request) -> Option<String> {
    req.header("authorization")
}

/// The credentials of an `Authorization: <scheme> <credentials>` header,
/// when the scheme matches (case-insensitively, RFC 9110 §11.1).
pub fn authorization(req: &Request, scheme: &str) -> Option<String> {
    let value = req.header("authorization")?;
    let (s, cred) = value.trim().split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| cred.trim().to_string())
}

// The headers every answer starts with, made in one call: set one by one,
// each would be a call with two strings to convert.
#[wasm_bindgen(inline_js = r#"
export function base_headers(contentType, cacheable) {
  const h = new Headers({ "content-type": contentType, "x-content-type-options": "nosniff" });
  if (!cacheable) {
    h.set("cache-control", "no-store");
    h.set("pragma", "no-cache");
  }
  return h;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = base_headers)]
    fn js_base_headers(content_type: &str, cacheable: bool) -> web_sys::Headers;
}

/// `Content-Type`, `nosniff`, and unless `cacheable` `no-store`: RFC 6749
/// §5.1 requires it on token responses, and every other answer carrying
/// secrets or personal data deserves the same.
fn base_headers(content_type: &str, cacheable: bool) -> Headers {
    Headers(js_base_headers(content_type, cacheable))
}

/// A JSON answer that must not be cached.
pub fn json(status: u16, body: &Value) -> Reply {
    Ok(Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(base_headers("application/json", false)))
}

/// A JSON document (already serialised) that shared caches may keep for
/// `max_age` seconds. The router lets any origin read it (`PUBLISHED`).
pub fn json_public(body: &str, max_age: u32) -> Reply {
    let h = base_headers("application/json", true);
    h.set("cache-control", &format!("public, max-age={max_age}"))?;
    Ok(Response::from_bytes(body.as_bytes().to_vec())?.with_headers(h))
}

/// The header by which an answer tells src/entry.mjs that it may answer
/// the same GET with this very response for `seconds` without running the
/// worker (a published document: discovery, the JWK set). entry.mjs
/// removes it from every response, so no client sees it.
const ISOLATE_CACHE: &str = "x-edge-oidc-isolate-cache";

pub fn isolate_cache(resp: Response, seconds: u64) -> Reply {
    if seconds > 0 {
        resp.headers().set(ISOLATE_CACHE, &seconds.to_string())?;
    }
    Ok(resp)
}

pub fn no_content() -> Reply {
    Ok(Response::empty()?
        .with_status(204)
        .with_headers(base_headers("text/plain", false)))
}

/// The one place an error becomes a response: RFC 6749 §5.2 JSON, the
/// status it carries, its `WWW-Authenticate` challenge and its
/// `Retry-After`.
pub fn error_response(e: &OAuthError) -> Response {
    let h = base_headers("application/json", false);
    if let Some(challenge) = e.www_authenticate("edge-oidc") {
        let _ = h.set("www-authenticate", &challenge);
    }
    retry_after(&h, e);
    Response::from_bytes(e.to_json().into_bytes())
        .map(|r| r.with_status(e.status).with_headers(h))
        .unwrap_or_else(|_| Response::empty().expect("empty response").with_status(e.status))
}

/// RFC 9110 §10.2.3: when the client (or person) may try again.
fn retry_after(h: &Headers, e: &OAuthError) {
    if let Some(seconds) = e.retry_after() {
        // Fails only on immutable headers, which these are not.
        let _ = h.set("retry-after", &seconds.to_string());
    }
}

/// An error as a page for a person, under the heading `title`, with the
/// status and `Retry-After` it carries. A storage failure is the same page
/// everywhere: the service is briefly unavailable. Descriptions are safe
/// to show (internal detail is logged, never put in them).
pub fn error_as_page(title: &str, e: &OAuthError, cookies: &[String]) -> Reply {
    let page = match e.retry_after() {
        Some(_) => crate::ui::unavailable_page(),
        None => crate::ui::error_page(title, &e.description),
    };
    let resp = html(e.status, page, cookies)?;
    retry_after(resp.headers(), e);
    Ok(resp)
}

/// Every answer under an https issuer, pages, redirects and errors alike,
/// tells browsers to use https only (`Strict-Transport-Security`).
pub fn transport_security(resp: Response, issuer: &str) -> Response {
    if is_https(issuer) {
        // Fails only on immutable headers, which no answer of ours has.
        let _ = resp
            .headers()
            .set("strict-transport-security", STRICT_TRANSPORT_SECURITY);
    }
    resp
}

/// A page for a person, with the pages' security headers (a CSP that lets
/// the page's own script tags run, if it has any) and any cookies.
pub fn html(status: u16, page: Page, cookies: &[String]) -> Reply {
    let h = Headers::new();
    for (k, v) in crate::ui::html_headers(page.script_nonce.as_deref()) {
        h.set(k, &v)?;
    }
    for c in cookies {
        h.append("set-cookie", c)?;
    }
    Ok(Response::from_bytes(page.html.into_bytes())?
        .with_status(status)
        .with_headers(h))
}

/// A redirect (302 after GET, 303 after a form POST so the browser follows
/// with GET), with any cookies.
pub fn redirect(after_post: bool, location: &str, cookies: &[String]) -> Reply {
    let h = Headers::new();
    h.set("location", location)?;
    h.set("cache-control", "no-store")?;
    h.set("referrer-policy", "no-referrer")?;
    for c in cookies {
        h.append("set-cookie", c)?;
    }
    Ok(Response::empty()?
        .with_status(if after_post { 303 } else { 302 })
        .with_headers(h))
}

/// The value of cookie `name`.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    crate::protocol::cookie::get(&req.header("cookie")?, name).map(str::to_string)
}
