//! The grant Durable Object's state machine, for its JavaScript class
//! (`GrantObject` in `src/entry.mjs`). The class holds the storage and the
//! alarm; everything it decides comes from here, so "use once" and "rotate
//! once" are still `protocol::grant` alone.
//!
//! The class is JavaScript because a worker-rs Durable Object costs more
//! around the call (its wrapper class, request and response conversions,
//! awaited storage writes) than the grant's own work.
//!
//! These are methods of a class on purpose: worker-build turns every free
//! `#[wasm_bindgen]` function into a method of the worker's default
//! entrypoint, which other workers could call.

use crate::platform::now_secs;
use crate::protocol::grant::{next_alarm, step, Grant};
use crate::store::durable::GrantCall;
use wasm_bindgen::prelude::*;

/// One operation's outcome: the reply, the grant to store if it changed, and
/// where to move the alarm (milliseconds since the epoch) if it must move.
#[wasm_bindgen(getter_with_clone)]
pub struct GrantStep {
    #[wasm_bindgen(readonly)]
    pub reply: String,
    #[wasm_bindgen(readonly)]
    pub grant: Option<String>,
    #[wasm_bindgen(readonly, js_name = alarmAt)]
    pub alarm_at: Option<f64>,
}

/// The grant as storage holds it: JSON text, or (written by releases whose
/// grant object was Rust) a structured-clone object from serde_wasm_bindgen.
fn decode(stored: JsValue) -> Result<Option<Grant>, JsError> {
    if stored.is_undefined() || stored.is_null() {
        return Ok(None);
    }
    let grant = match stored.as_string() {
        Some(text) => serde_json::from_str(&text)?,
        None => serde_wasm_bindgen::from_value(stored)?,
    };
    Ok(Some(grant))
}

pub(super) fn millis(secs: u64) -> f64 {
    secs as f64 * 1000.0
}

#[wasm_bindgen]
impl GrantStep {
    /// Applies one `GrantCall` (JSON) to the stored grant.
    pub fn apply(stored: JsValue, call: &str) -> Result<GrantStep, JsError> {
        let call: GrantCall = serde_json::from_str(call)?;
        let mut slot = decode(stored)?;
        let step = step(&mut slot, call.op, call.now);
        let grant = match (&slot, step.changed) {
            (Some(g), true) => Some(serde_json::to_string(g)?),
            _ => None,
        };
        Ok(GrantStep {
            reply: serde_json::to_string(&step.reply)?,
            grant,
            alarm_at: step.alarm_at.map(millis),
        })
    }

    /// Where the alarm goes after firing (milliseconds since the epoch), or
    /// nothing when the grant has no use left and its storage can go.
    #[wasm_bindgen(js_name = nextAlarm)]
    pub fn next_alarm(stored: JsValue) -> Result<Option<f64>, JsError> {
        Ok(next_alarm(decode(stored)?.as_ref(), now_secs()).map(millis))
    }
}
