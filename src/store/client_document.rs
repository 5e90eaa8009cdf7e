//! Fetching a Client ID Metadata Document (`protocol::client_document`):
//! a GET through the Workers `fetch`, redirects not followed, the whole
//! exchange bounded by a time-out, and the body read only up to the size
//! limit. What was seen goes back to the protocol as [`Fetched`].

use crate::protocol::client_document::{Fetched, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export async function fetch_document(url, timeoutMs, maxBytes) {
  const signal = AbortSignal.timeout(timeoutMs);
  const failed = (e) => {
    console.warn(`client document ${url}: ${e}`);
    return JSON.stringify({ kind: signal.aborted ? "timed_out" : "unreachable" });
  };
  try {
    const res = await fetch(url, { redirect: "manual", signal, headers: { accept: "application/json" } });
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > maxBytes) {
      await res.body?.cancel();
      return JSON.stringify({ kind: "too_large" });
    }
    const chunks = [];
    let size = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel();
          return JSON.stringify({ kind: "too_large" });
        }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
    return JSON.stringify({
      kind: "answer",
      status: res.status,
      content_type: res.headers.get("content-type"),
      cache_control: res.headers.get("cache-control"),
      body: new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    });
  } catch (e) {
    return failed(e);
  }
}
"#)]
extern "C" {
    async fn fetch_document(url: &str, timeout_ms: u32, max_bytes: u32) -> JsValue;
}

/// GETs `url` (already checked by `client_document::check_document_url`).
pub async fn fetch(url: &str) -> Fetched {
    let answer = fetch_document(url, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES as u32).await;
    let text = answer.as_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| {
        worker::console_error!("client document fetch: unreadable answer: {e}");
        Fetched::Unreachable
    })
}
