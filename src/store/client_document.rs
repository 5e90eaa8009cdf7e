//! Fetching a Client ID Metadata Document (`protocol::client_document`):
//! a GET through the Workers `fetch`, redirects not followed, the whole
//! exchange bounded by a time-out, and the body read only up to the size
//! limit. What was seen goes back to the protocol as [`Fetched`].

use super::upstream::fetch_document;
use crate::protocol::client_document::{Fetched, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES};

/// GETs `url` (already checked by `client_document::check_document_url`).
pub async fn fetch(url: &str) -> Fetched {
    let answer = fetch_document(url, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES as u32).await;
    let text = answer.as_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| {
        worker::console_error!("client document fetch: unreadable answer: {e}");
        Fetched::Unreachable
    })
}
