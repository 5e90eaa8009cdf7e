//! The incoming request, read only as far as an endpoint needs it.
//!
//! worker's own `Request` copies the request's `cf` object on arrival, which
//! the runtime builds by parsing JSON on every access (about a tenth of a
//! millisecond per request in `bench/profile.mjs`), and parses the URL again
//! for each look at it. No endpoint here reads `cf`; this type keeps the
//! runtime's request and reads the method, URL, headers and body on demand.

use crate::protocol::params::{url_parts, UrlParts};
use worker::worker_sys::web_sys;
use worker::Method;

pub struct Request {
    raw: web_sys::Request,
    method: Method,
    url: String,
    /// Taken once: each `raw.headers()` is a call out of the wasm and a new
    /// reference, and an endpoint reads several headers.
    headers: web_sys::Headers,
}

impl Request {
    pub fn new(raw: web_sys::Request) -> Self {
        Self {
            method: Method::from(raw.method()),
            url: raw.url(),
            headers: raw.headers(),
            raw,
        }
    }

    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// Origin, path (still percent-encoded) and query string.
    pub fn url(&self) -> UrlParts<'_> {
        url_parts(&self.url)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// The whole body; the caller has checked the declared length.
    pub async fn bytes(&mut self) -> worker::Result<Vec<u8>> {
        let buffer = wasm_bindgen_futures::JsFuture::from(self.raw.array_buffer()?).await?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }
}
