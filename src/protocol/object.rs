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

/// An operation or reply of one of our enums as it arrives, read by hand:
/// internally tagged (`{"op": "<name>", ...its fields}`) or externally
/// (`"<name>"`, `{"<name>": {...its fields}}`). serde's derived reader of an
/// internally tagged enum buffers every field before choosing the variant,
/// then holds a second copy of each variant's parser reading from that
/// buffer; an externally tagged one still has a parser per variant. For our
/// operations and replies that was about 60 KB of the wasm (20 KB gzipped). Here the value is read once
/// as JSON, and each field from its own JSON text by the one parser of its
/// type that reads it anywhere else (a grant: the stored state's). The wire
/// forms are the derived `Serialize`'s, unchanged, so objects and workers
/// of releases before and after this read each other's operations. Costs a
/// second parse of a few hundred bytes per operation.
pub struct Tagged {
    name: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Tagged {
    /// Internally tagged: the variant's name is the string under `tag`.
    pub fn internal<'de, D: Deserializer<'de>>(d: D, tag: &'static str) -> Result<Self, D::Error> {
        let mut fields = serde_json::Map::deserialize(d)?;
        match fields.remove(tag) {
            Some(serde_json::Value::String(name)) => Ok(Self { name, fields }),
            _ => Err(D::Error::missing_field(tag)),
        }
    }

    /// Externally tagged: a unit variant's name, or an object of one
    /// member, the variant's name and its fields.
    pub fn external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (name, fields) = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(name) => (name, serde_json::Map::new()),
            serde_json::Value::Object(outer) if outer.len() == 1 => match outer.into_iter().next() {
                Some((name, serde_json::Value::Object(fields))) => (name, fields),
                _ => return Err(D::Error::custom("a variant's fields are not an object")),
            },
            _ => return Err(D::Error::custom("not a variant: neither a name nor an object of one")),
        };
        Ok(Self { name, fields })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field `name` (absent reads as `null`, so an `Option` is `None`).
    pub fn field<T: DeserializeOwned, E: Error>(&self, name: &str) -> Result<T, E> {
        let value = self.fields.get(name).unwrap_or(&serde_json::Value::Null);
        serde_json::from_str(&value.to_string()).map_err(E::custom)
    }

    /// All the fields as one struct (a newtype variant's).
    pub fn fields<T: DeserializeOwned, E: Error>(&self) -> Result<T, E> {
        serde_json::from_str(&serde_json::to_string(&self.fields).map_err(E::custom)?).map_err(E::custom)
    }
}

/// A stored record with a `#[serde(flatten)]` member, read by hand the
/// same way: the derived reader of such a struct buffers every field it
/// does not know for the flattened one, as an internally tagged enum's
/// does. Its own fields are taken out one by one; the rest is the
/// flattened member. Written by the derived `Serialize`, unchanged. Also
/// for a record of many members whose derived reader would be large (each
/// member's parser inlined into it): `take` reuses the one parser per type.
pub struct Flattened(Tagged);

impl Flattened {
    pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(Tagged {
            name: String::new(),
            fields: serde_json::Map::deserialize(d)?,
        }))
    }

    /// Takes the field `name` out (absent reads as `null`).
    pub fn take<T: DeserializeOwned, E: Error>(&mut self, name: &str) -> Result<T, E> {
        let value = self.0.field(name);
        self.0.fields.remove(name);
        value
    }

    /// What is left: the flattened member.
    pub fn rest<T: DeserializeOwned, E: Error>(&self) -> Result<T, E> {
        self.0.fields()
    }
}

/// A unit-only enum of ours as its wire name (a JSON string), read by
/// hand: serde's derived reader is about 1.6 KB of the wasm per enum
/// (a field visitor and an enum visitor). `NAMES` must be the derived
/// `Serialize`'s names; each implementor's tests hold it to them.
pub trait WireName: Copy + 'static {
    const NAMES: &'static [(&'static str, Self)];

    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The names, quoted, for a message: `"a", "b"`.
    fn listed() -> String {
        let quoted: Vec<String> = Self::NAMES.iter().map(|(n, _)| format!("{n:?}")).collect();
        quoted.join(", ")
    }
}

/// A [`WireName`] enum's `Deserialize`.
pub fn read_name<'de, D: Deserializer<'de>, T: WireName>(d: D) -> Result<T, D::Error> {
    let name = String::deserialize(d)?;
    T::from_name(&name).ok_or_else(|| D::Error::custom(format!("unknown variant {name:?}")))
}
