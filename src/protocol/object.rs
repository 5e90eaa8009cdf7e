//! The shape every Durable Object of ours shares: one small state machine
//! per kind of thing (a grant, a sign-in throttle, a single-use form), kept
//! in the object's storage. The object (a small JavaScript class in
//! `src/entry.mjs`) reads the state, lets the machine decide, stores what
//! changed and moves its clean-up alarm, all without an `await`, so no two
//! operations on one object interleave.

use serde::de::{DeserializeOwned, Error, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

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
/// operations and replies that was about 60 KB of the wasm (20 KB gzipped).
/// Here the members are only skimmed, each kept as its JSON text
/// (`RawValue`), and each field is then read from its text by the one
/// parser of its type that reads it anywhere else (a grant: the stored
/// state's). Skimming builds no `Value` tree: reading a grant's reply that
/// way, then printing and reparsing it, was a tenth of a refresh's CPU in
/// the worker. The wire forms are the derived `Serialize`'s, unchanged, so
/// objects and workers of releases before and after this read each other's
/// operations. Only serde_json's deserializers (of text, or of a `Value`)
/// can hand out raw text, so these types are read with serde_json alone.
pub struct Tagged {
    name: String,
    fields: Members,
}

/// An object's members, each as its JSON text.
type Members = BTreeMap<String, Box<RawValue>>;

impl Tagged {
    /// Internally tagged: the variant's name is the string under `tag`.
    pub fn internal<'de, D: Deserializer<'de>>(d: D, tag: &'static str) -> Result<Self, D::Error> {
        let mut fields = Members::deserialize(d)?;
        let name = fields.remove(tag).ok_or_else(|| D::Error::missing_field(tag))?;
        let name = serde_json::from_str(name.get()).map_err(|_| D::Error::custom(format!("{tag} is not a string")))?;
        Ok(Self { name, fields })
    }

    /// Externally tagged: a unit variant's name, or an object of one
    /// member, the variant's name and its fields.
    pub fn external<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(External)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field `name` (absent reads as `null`, so an `Option` is `None`).
    pub fn field<T: DeserializeOwned, E: Error>(&self, name: &str) -> Result<T, E> {
        let text = self.fields.get(name).map_or("null", |raw| raw.get());
        serde_json::from_str(text).map_err(E::custom)
    }

    /// All the fields as one struct (a newtype variant's).
    pub fn fields<T: DeserializeOwned, E: Error>(&self) -> Result<T, E> {
        serde_json::from_str(&serde_json::to_string(&self.fields).map_err(E::custom)?).map_err(E::custom)
    }
}

/// Reads an externally tagged variant without a `Value` in between.
struct External;

impl<'de> Visitor<'de> for External {
    type Value = Tagged;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a variant: its name, or an object of one member")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<Tagged, E> {
        Ok(Tagged {
            name: name.to_owned(),
            fields: Members::new(),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tagged, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(A::Error::custom("a variant's object is empty"));
        };
        let fields = map.next_value::<Members>()?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom("a variant's object has more than one member"));
        }
        Ok(Tagged { name, fields })
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
            fields: Members::deserialize(d)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stand-in operation read the way ours are.
    #[derive(Debug, PartialEq)]
    enum Op {
        Get,
        Put { key: String, value: Option<u32> },
    }

    fn read(tagged: Tagged) -> Result<Op, serde_json::Error> {
        match tagged.name() {
            "get" => Ok(Op::Get),
            "put" => Ok(Op::Put {
                key: tagged.field("key")?,
                value: tagged.field("value")?,
            }),
            other => Err(serde_json::Error::unknown_variant(other, &[])),
        }
    }

    fn external(text: &str) -> Result<Op, serde_json::Error> {
        read(Tagged::external(&mut serde_json::Deserializer::from_str(text))?)
    }

    fn internal(text: &str) -> Result<Op, serde_json::Error> {
        read(Tagged::internal(&mut serde_json::Deserializer::from_str(text), "op")?)
    }

    #[test]
    fn reads_both_tagged_forms_with_fields_as_their_own_text() {
        assert_eq!(external(r#""get""#).unwrap(), Op::Get);
        let put = Op::Put {
            key: "k".into(),
            value: Some(7),
        };
        assert_eq!(external(r#"{"put": {"key": "k", "value": 7}}"#).unwrap(), put);
        assert_eq!(internal(r#"{"value": 7, "op": "put", "key": "k"}"#).unwrap(), put);
        let absent = Op::Put {
            key: "k".into(),
            value: None,
        };
        assert_eq!(
            internal(r#"{"op": "put", "key": "k"}"#).unwrap(),
            absent,
            "absent is null"
        );
    }

    #[test]
    fn malformed_variants_are_errors() {
        for bad in [
            "{}",
            r#"{"put": {"key": "k"}, "get": {}}"#,
            r#"{"put": "k"}"#,
            "7",
            r#"{"put": {"key": 7}}"#,
            r#""nothing""#,
            r#"{"put": {"key": "k""#,
        ] {
            assert!(external(bad).is_err(), "{bad}");
        }
        for bad in [
            r#"{"key": "k"}"#,
            r#"{"op": 7}"#,
            r#""get""#,
            r#"{"op": "put", "key": ["k"]}"#,
        ] {
            assert!(internal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_flattened_record_takes_its_own_fields_and_leaves_the_rest() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Rest {
            b: String,
        }
        let text = json!({"a": 1, "b": "x"}).to_string();
        let mut record = Flattened::read(&mut serde_json::Deserializer::from_str(&text)).unwrap();
        let a: u32 = record.take::<u32, serde_json::Error>("a").unwrap();
        let rest: Rest = record.rest::<Rest, serde_json::Error>().unwrap();
        assert_eq!((a, rest), (1, Rest { b: "x".into() }));
    }
}
