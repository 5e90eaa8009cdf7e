//! Requests to upstream identity providers (discovery, JWKS, token and
//! user-info endpoints), made so that an upstream that is down, slow or
//! answers garbage costs a person a few seconds and a clear page, never a
//! hung request or the isolate's memory:
//! - a time-out covers the whole exchange, body included (the runtime's
//!   `AbortSignal.timeout()`, whose signal aborts the body stream too);
//! - the body is read up to [`MAX_BODY`] and no further;
//! - redirects are not followed but refused ([`send`]).
//!
//! The exchange is a few lines of JavaScript rather than workers-rs `Fetch`:
//! worker 0.8.7 has `send_with_signal` but no `AbortSignal.timeout()`, and
//! its `ByteStream` ends quietly on an "aborted" stream error, so a capped,
//! timed read through it could pass a truncated body off as a whole one.
//! The JavaScript also costs the wasm nothing.

use crate::memo::TtlCache;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
// The body of `resp`, read whole unless it is over `maxBytes` (declared or
// counted while streaming): then null, the rest cancelled.
async function readCapped(resp, maxBytes) {
  if (Number(resp.headers.get("content-length")) > maxBytes) {
    await resp.body?.cancel();
    return null;
  }
  const chunks = [];
  let total = 0;
  if (resp.body) {
    const reader = resp.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

// [status, body bytes], or null when the time-out fired, while connecting or
// while the body was read. Any other failure rejects with its message.
export async function upstream_fetch(method, url, headers, body, timeoutMs, maxBytes) {
  const h = new Headers({ "user-agent": "edge-oidc" });
  for (let i = 0; i + 1 < headers.length; i += 2) h.set(headers[i], headers[i + 1]);
  try {
    const resp = await fetch(url, {
      method, headers: h, body: body ?? undefined, redirect: "manual", signal: AbortSignal.timeout(timeoutMs),
    });
    const all = await readCapped(resp, maxBytes);
    if (all === null) throw new Error("the response body is over " + maxBytes + " bytes");
    return [resp.status, all];
  } catch (e) {
    if (e && e.name === "TimeoutError") return null;
    throw String((e && e.message) || e);
  }
}

// A Client ID Metadata Document's GET, answered as the JSON of
// `client_document::Fetched` (store/client_document.rs).
export async function fetch_document(url, timeoutMs, maxBytes) {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { redirect: "manual", signal, headers: { accept: "application/json" } });
    const bytes = await readCapped(res, maxBytes);
    if (bytes === null) return JSON.stringify({ kind: "too_large" });
    return JSON.stringify({
      kind: "answer",
      status: res.status,
      content_type: res.headers.get("content-type"),
      cache_control: res.headers.get("cache-control"),
      body: new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    });
  } catch (e) {
    console.warn(`client document ${url}: ${e}`);
    return JSON.stringify({ kind: signal.aborted ? "timed_out" : "unreachable" });
  }
}
"#)]
extern "C" {
    /// A Client ID Metadata Document's GET (store/client_document.rs).
    pub(super) async fn fetch_document(url: &str, timeout_ms: u32, max_bytes: u32) -> JsValue;

    #[wasm_bindgen(catch)]
    async fn upstream_fetch(
        method: &str,
        url: &str,
        headers: js_sys::Array,
        body: Option<String>,
        timeout_ms: u32,
        max_bytes: u32,
    ) -> Result<JsValue, JsValue>;
}

/// The most of a response body read (1 MiB): discovery documents, JWK sets
/// and token responses are a few KB; more is garbage.
pub const MAX_BODY: u32 = 1 << 20;

/// The time-out for one upstream request. A person waits on up to four in
/// a row (discovery, token, JWKS, user info), so each must be short.
pub const TIMEOUT_MS: u32 = 3_000;

pub struct UpstreamRequest {
    /// "GET" or "POST".
    pub method: &'static str,
    pub url: String,
    /// Sent as given, after our `User-Agent: edge-oidc` (GitHub's API
    /// refuses requests without one), which a header here may replace.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

pub struct UpstreamResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why there is no response to use. The text says what happened for the
/// log, and carries no header, body or URL (they can hold secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamFailure {
    Unreachable(String),
    TimedOut,
}

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(why) => write!(f, "upstream unreachable: {why}"),
            Self::TimedOut => f.write_str("upstream timed out"),
        }
    }
}

/// Sends `req`, giving up after `timeout_ms`. Any status comes back except
/// a redirect, which is refused as `Unreachable`: every endpoint we call
/// was configured or discovered as the place to ask, and following a
/// redirect would send a token request's code, verifier and client secret
/// (a 307/308 repeats the body) to wherever the redirect says, or take an
/// issuer's keys from another host (an open redirect on the issuer's site
/// would be enough to choose them).
pub async fn send(req: &UpstreamRequest, timeout_ms: u32) -> Result<UpstreamResponse, UpstreamFailure> {
    let headers = js_sys::Array::new();
    for (name, value) in &req.headers {
        headers.push(&JsValue::from_str(name));
        headers.push(&JsValue::from_str(value));
    }
    let answer = upstream_fetch(req.method, &req.url, headers, req.body.clone(), timeout_ms, MAX_BODY)
        .await
        .map_err(|e| UpstreamFailure::Unreachable(e.as_string().unwrap_or_else(|| format!("{e:?}"))))?;
    if answer.is_null() {
        return Err(UpstreamFailure::TimedOut);
    }
    let answer = js_sys::Array::from(&answer);
    let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
    if (300..400).contains(&status) {
        return Err(UpstreamFailure::Unreachable(format!(
            "answered {status}, a redirect, which is not followed"
        )));
    }
    Ok(UpstreamResponse {
        status,
        body: js_sys::Uint8Array::new(&answer.get(1)).to_vec(),
    })
}

/// The longest a document is kept, whatever the caller asks.
const DOCUMENT_TTL_MAX: u64 = 24 * 3600;
/// A forced refresh of a URL happens at most this often (seconds).
const FORCED_REFRESH_EVERY: u64 = 30;
/// Documents kept per isolate: two per OpenID provider (discovery, JWKS).
/// At most 32 MiB even if each were as large as [`MAX_BODY`] allows; real
/// ones are a few KB.
const DOCUMENTS_MAX: usize = 32;

thread_local! {
    static DOCUMENTS: TtlCache<Rc<[u8]>> = TtlCache::new(DOCUMENT_TTL_MAX, DOCUMENTS_MAX);
    /// When each URL was last refreshed by force, so that a stream of
    /// tokens with unknown `kid`s fetches a JWK set at most once per
    /// [`FORCED_REFRESH_EVERY`], whether or not that fetch succeeded.
    static FORCED: TtlCache<()> = TtlCache::new(FORCED_REFRESH_EVERY, DOCUMENTS_MAX);
}

/// The JSON document at `url` (a discovery document, a JWK set), from this
/// isolate's cache when read less than `ttl` seconds ago. `force_refresh`
/// (a JWT whose `kid` the cached set lacks) fetches it again, unless that
/// was done for this URL in the last 30 s: then the cached copy comes back,
/// and the caller refuses the token as it would have. Only a 200 answer
/// that parses as JSON is cached or returned.
pub async fn cached_json(url: &str, ttl: u64, now: u64, force_refresh: bool) -> Result<Rc<[u8]>, UpstreamFailure> {
    let refresh = force_refresh && FORCED.with(|f| f.get(url, now).is_none());
    if let Some((age, doc)) = DOCUMENTS.with(|d| d.get_with_age(url, now)) {
        if age < ttl && !refresh {
            return Ok(doc);
        }
    }
    if refresh {
        FORCED.with(|f| f.put(url, now, ()));
    }
    let req = UpstreamRequest {
        method: "GET",
        url: url.to_string(),
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
    };
    let resp = send(&req, TIMEOUT_MS).await?;
    if resp.status != 200 {
        return Err(UpstreamFailure::Unreachable(format!("answered {}", resp.status)));
    }
    let json = std::str::from_utf8(&resp.body).ok();
    if json.is_none_or(|j| serde_json::from_str::<serde::de::IgnoredAny>(j).is_err()) {
        return Err(UpstreamFailure::Unreachable(
            "answered something that is not JSON".into(),
        ));
    }
    let doc: Rc<[u8]> = resp.body.into();
    DOCUMENTS.with(|d| d.put(url, now, doc.clone()));
    Ok(doc)
}
