//! The shape every Durable Object of ours shares: one small state machine
//! per kind of thing (a grant, a sign-in throttle, a single-use form), kept
//! in the object's storage. The object (a small JavaScript class in
//! `src/entry.mjs`) reads the state, lets the machine decide, stores what
//! changed and moves its clean-up alarm, all without an `await`, so no two
//! operations on one object interleave.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer, Serialize};

/// One kind of object's rules. `apply` is the whole decision; `ends_at` is
/// when nothing in the state can matter any more and its storage may go.
pub trait Machine {
    type State: Clone + PartialEq + Serialize + DeserializeOwned;
    type Op: Serialize + DeserializeOwned;
    type Reply: Serialize + DeserializeOwned;

    fn apply(slot: &mut Option<Self::State>, op: Self::Op, now: u64) -> Self::Reply;
    fn ends_at(state: &Self::State) -> u64;
}

/// One operation's outcome for the object that holds the state.
pub struct Step<R> {
    pub reply: R,
    /// The state in the slot changed and must be stored.
    pub changed: bool,
    /// Where the clean-up alarm must move to (seconds), if anywhere.
    pub alarm_at: Option<u64>,
}

/// `apply`, plus the holder's bookkeeping. The alarm never fires later than
/// the state ends: it is set when the state is made and moved earlier when
/// the end comes closer. A later end needs no alarm write on the hot path:
/// the alarm, finding the state still in use, moves itself (`next_alarm`).
pub fn step<M: Machine>(slot: &mut Option<M::State>, op: M::Op, now: u64) -> Step<M::Reply> {
    let before = slot.clone();
    let reply = M::apply(slot, op, now);
    let changed = *slot != before;
    let alarm_at = slot
        .as_ref()
        .filter(|_| changed)
        .map(M::ends_at)
        .filter(|end| before.as_ref().is_none_or(|b| *end < M::ends_at(b)))
        .map(|end| alarm_time(end, now));
    Step {
        reply,
        changed,
        alarm_at,
    }
}

/// Where a clean-up alarm that just fired goes next: on to the state's end
/// while it can still matter, else nowhere (delete it all).
pub fn next_alarm<M: Machine>(state: Option<&M::State>, now: u64) -> Option<u64> {
    state
        .map(M::ends_at)
        .filter(|end| *end > now)
        .map(|end| alarm_time(end, now))
}

/// A second past the end, so the state has surely ended; never in the past.
fn alarm_time(ends_at: u64, now: u64) -> u64 {
    ends_at.max(now) + 1
}

/// `#[serde(deserialize_with)]` for a large value inside an operation
/// (an internally tagged enum): reads it back through its JSON text. serde
/// buffers such an enum's fields before choosing the variant, and a type
/// read from that buffer is a second copy of its whole parser in the wasm;
/// through the text, the one that reads stored state serves. For a grant
/// that copy was 15 KB of the wasm (5 KB gzipped), for a registration token
/// 2 KB; the price is a second parse of a few hundred bytes once per object
/// made (about 7 µs natively for a grant).
pub fn via_json_text<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let text = serde_json::Value::deserialize(d)?.to_string();
    serde_json::from_str(&text).map_err(D::Error::custom)
}
