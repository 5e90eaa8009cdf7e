//! The registration-token Durable Object's state machine, for its
//! JavaScript class (`RegistrationTokenObject` in `src/entry.mjs`), one
//! object per token, named by the token's id. Like the grant object's: the
//! class holds the storage and the alarm, and everything it decides comes
//! from `protocol::registration_token`.

use super::grant::millis;
use crate::platform::now_secs;
use crate::protocol::registration_token::{next_alarm, step, RegistrationToken, TokenCall};
use wasm_bindgen::prelude::*;

/// One call's outcome: the reply, the token to store if it changed, and
/// where to move the alarm (milliseconds since the epoch) if it must move.
#[wasm_bindgen(getter_with_clone)]
pub struct RegistrationTokenStep {
    #[wasm_bindgen(readonly)]
    pub reply: String,
    #[wasm_bindgen(readonly)]
    pub token: Option<String>,
    #[wasm_bindgen(readonly, js_name = alarmAt)]
    pub alarm_at: Option<f64>,
}

fn decode(stored: Option<String>) -> Result<Option<RegistrationToken>, JsError> {
    Ok(stored.map(|text| serde_json::from_str(&text)).transpose()?)
}

#[wasm_bindgen]
impl RegistrationTokenStep {
    /// Applies one `TokenCall` (JSON) to the stored token (JSON text).
    pub fn apply(stored: Option<String>, call: &str) -> Result<RegistrationTokenStep, JsError> {
        let call: TokenCall = serde_json::from_str(call)?;
        let mut slot = decode(stored)?;
        let step = step(&mut slot, call);
        let token = match (&slot, step.changed) {
            (Some(t), true) => Some(serde_json::to_string(t)?),
            _ => None,
        };
        Ok(RegistrationTokenStep {
            reply: serde_json::to_string(&step.reply)?,
            token,
            alarm_at: step.alarm_at.map(millis),
        })
    }

    /// Where the alarm goes after firing (milliseconds since the epoch), or
    /// nothing when the token has ended and its storage can go.
    #[wasm_bindgen(js_name = nextAlarm)]
    pub fn next_alarm(stored: Option<String>) -> Result<Option<f64>, JsError> {
        Ok(next_alarm(decode(stored)?.as_ref(), now_secs()).map(millis))
    }
}
