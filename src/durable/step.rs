//! The state machines of our JavaScript Durable Object classes
//! (src/entry.mjs): each class holds storage and its alarm; everything it
//! decides comes from here, so "use once", "rotate once" and "count every
//! attempt" are `protocol` alone (`protocol::object::Machine`).
//!
//! The classes are JavaScript because a worker-rs Durable Object costs more
//! around the call (its wrapper class, request and response conversions,
//! awaited storage writes) than the object's own work.
//!
//! Each machine is exported as the static methods of a class on purpose:
//! worker-build turns every free `#[wasm_bindgen]` function into a method
//! of the worker's default entrypoint, which other workers could call.

use crate::platform::now_secs;
use crate::protocol::admin_session::AdminSessionMachine;
use crate::protocol::federation::link::LinkMachine;
use crate::protocol::grant::{Grant, GrantMachine};
use crate::protocol::object::{next_alarm, step, Machine};
use crate::protocol::once::OnceMachine;
use crate::protocol::passkey::PasskeyMachine;
use crate::protocol::registration_token::RegistrationTokenMachine;
use crate::protocol::throttle::ThrottleMachine;
use crate::store::durable::ObjectCall;
use wasm_bindgen::prelude::*;

/// One operation's outcome: the reply, the state to store if it changed, and
/// where to move the alarm (milliseconds since the epoch) if it must move.
#[wasm_bindgen(getter_with_clone)]
pub struct ObjectStep {
    #[wasm_bindgen(readonly)]
    pub reply: String,
    #[wasm_bindgen(readonly)]
    pub state: Option<String>,
    #[wasm_bindgen(readonly, js_name = alarmAt)]
    pub alarm_at: Option<f64>,
}

/// How a kind of object reads its stored state.
type Decode<M> = fn(JsValue) -> Result<Option<<M as Machine>::State>, JsError>;

/// The state as storage holds it: JSON text.
fn decode<M: Machine>(stored: JsValue) -> Result<Option<M::State>, JsError> {
    if stored.is_undefined() || stored.is_null() {
        return Ok(None);
    }
    let text = stored
        .as_string()
        .ok_or_else(|| JsError::new("the stored state is not JSON text"))?;
    Ok(Some(serde_json::from_str(&text)?))
}

/// Grants only: JSON text, or (written by releases whose grant object was
/// Rust) a structured-clone object from serde_wasm_bindgen. Kept to grants,
/// since the second decoder is sizeable in the wasm for each state type.
fn decode_grant(stored: JsValue) -> Result<Option<Grant>, JsError> {
    if stored.is_undefined() || stored.is_null() || stored.is_string() {
        return decode::<GrantMachine>(stored);
    }
    Ok(Some(serde_wasm_bindgen::from_value(stored)?))
}

fn millis(secs: u64) -> f64 {
    secs as f64 * 1000.0
}

/// Applies one `ObjectCall` (JSON) to the stored state.
fn apply<M: Machine>(stored: JsValue, call: &str, decode: Decode<M>) -> Result<ObjectStep, JsError> {
    let call: ObjectCall<M::Op> = serde_json::from_str(call)?;
    let mut slot = decode(stored)?;
    let step = step::<M>(&mut slot, call.op, call.now);
    let state = match (&slot, step.changed) {
        (Some(s), true) => Some(serde_json::to_string(s)?),
        _ => None,
    };
    Ok(ObjectStep {
        reply: serde_json::to_string(&step.reply)?,
        state,
        alarm_at: step.alarm_at.map(millis),
    })
}

/// Where the alarm goes after firing (milliseconds since the epoch), or
/// nothing when the state can no longer matter and its storage can go.
fn after_alarm<M: Machine>(stored: JsValue, decode: Decode<M>) -> Result<Option<f64>, JsError> {
    Ok(next_alarm::<M>(decode(stored)?.as_ref(), now_secs()).map(millis))
}

/// Exports a machine to its JavaScript class as `Name.apply(stored, call)`
/// and `Name.nextAlarm(stored)`, reading its state with `decode`.
macro_rules! export_machine {
    ($name:ident, $machine:ty) => {
        export_machine!($name, $machine, decode::<$machine>);
    };
    ($name:ident, $machine:ty, $decode:expr) => {
        #[wasm_bindgen]
        pub struct $name;

        #[wasm_bindgen]
        impl $name {
            pub fn apply(stored: JsValue, call: &str) -> Result<ObjectStep, JsError> {
                apply::<$machine>(stored, call, $decode)
            }

            #[wasm_bindgen(js_name = nextAlarm)]
            pub fn next_alarm(stored: JsValue) -> Result<Option<f64>, JsError> {
                after_alarm::<$machine>(stored, $decode)
            }
        }
    };
}

export_machine!(GrantStep, GrantMachine, decode_grant);
export_machine!(ThrottleStep, ThrottleMachine);
export_machine!(OnceStep, OnceMachine);
export_machine!(RegistrationTokenStep, RegistrationTokenMachine);
export_machine!(PasskeyStep, PasskeyMachine);
export_machine!(LinkStep, LinkMachine);
export_machine!(AdminSessionStep, AdminSessionMachine);
