//! CORS answers for the endpoints a browser-based app calls itself
//! (`/token`, `/revoke`, `/userinfo`; the router lists them). An actual
//! answer, errors included, may be read by a page of an origin that the
//! client the request is about allows (`ClientRecord::allows_origin`);
//! other origins get no CORS headers, so the browser keeps the answer from
//! the page. No `Access-Control-Allow-Credentials`: these endpoints take no
//! cookies. `POST /register` with open registration on answers every
//! origin ([`answer_any`]).

use super::http::Reply;
use crate::protocol::client::ClientRecord;
use crate::protocol::cors::{ALLOW_HEADERS, EXPOSE_HEADERS, MAX_AGE};
use worker::Response;

/// The preflight (`OPTIONS`), for any origin. It carries no credentials
/// and no body, so the client is not known yet; it does nothing, and lets
/// through only requests the page could not read the answer of unless the
/// actual answer allows its origin, which is decided there, per client.
/// Without an `Origin` it is no preflight: 204 with `Allow` only.
pub fn preflight(origin: Option<&str>, methods: &'static str) -> Reply {
    let resp = Response::empty()?.with_status(204);
    let h = resp.headers();
    h.set("allow", &format!("OPTIONS, {methods}"))?;
    h.set("vary", "Origin")?;
    if let Some(origin) = origin {
        h.set("access-control-allow-origin", origin)?;
        h.set("access-control-allow-methods", methods)?;
        h.set("access-control-allow-headers", ALLOW_HEADERS)?;
        h.set("access-control-max-age", MAX_AGE)?;
    }
    Ok(resp)
}

/// An actual answer: `Vary: Origin` always (the Fetch standard's advice
/// when the allowed origin is not `*` or fixed), and the origin allowed,
/// with `WWW-Authenticate` readable, when the identified client allows it.
pub fn answer(resp: Response, origin: Option<&str>, client: Option<&ClientRecord>) -> Response {
    let h = resp.headers();
    // Fails only on immutable headers, which no answer of ours has.
    let _ = h.append("vary", "Origin");
    if let (Some(origin), Some(client)) = (origin, client) {
        if client.allows_origin(origin) {
            allow(&resp, origin);
        }
    }
    resp
}

/// An actual answer of `POST /register` with open registration on, for any
/// origin: there is no client yet whose origins could decide, and the
/// request needs no credentials (none at all makes it an open one), so a
/// page of any origin could register the same client from its own server.
/// Browser-based MCP clients register themselves this way.
pub fn answer_any(resp: Response, origin: Option<&str>) -> Response {
    let _ = resp.headers().append("vary", "Origin");
    if let Some(origin) = origin {
        allow(&resp, origin);
    }
    resp
}

/// Any answer of a published document (discovery, the JWK set), errors
/// included: readable by any page, with `Retry-After` exposed.
pub fn answer_public(resp: Response) -> Response {
    allow(&resp, "*");
    resp
}

fn allow(resp: &Response, origin: &str) {
    let h = resp.headers();
    let _ = h.set("access-control-allow-origin", origin);
    let _ = h.set("access-control-expose-headers", EXPOSE_HEADERS);
}
