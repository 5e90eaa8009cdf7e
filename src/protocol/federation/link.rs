//! Which local account an upstream identity signs in to. One Durable Object
//! per upstream identity (named by `link_key(iss, sub)`, no personal data
//! in the name): a first sign-in is linked exactly once worldwide, so two
//! first sign-ins at once from two places cannot make two accounts, and
//! every later one finds the account at once, which KV (eventually
//! consistent) could not promise.

use crate::protocol::object::{Machine, Tagged};
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};

/// Links stay until unlinked: an account is found by its link for good.
const NEVER: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// The account an upstream identity is linked to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linked {
    /// The local account's `sub` (never reassigned: a deleted account's
    /// name taken again by someone else is not this account).
    pub sub: String,
    pub username: String,
    /// The provider it was linked through (our id for it).
    pub idp: String,
    pub linked_at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<Linked>,
    /// When the link was removed: the object's storage can go then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<u64>,
}

/// Externally tagged, and read by hand (`Tagged`) as the other objects'
/// operations are.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkOp {
    /// The account, if linked.
    Find,
    /// Links the identity to this account unless it is linked already;
    /// either way the reply is the account it is linked to now.
    Claim(Linked),
    /// Unlinks it, if it is linked to the account `sub`.
    Release { sub: String },
}

impl<'de> Deserialize<'de> for LinkOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::external(d)?;
        Ok(match op.name() {
            "find" => LinkOp::Find,
            "claim" => LinkOp::Claim(op.fields()?),
            "release" => LinkOp::Release { sub: op.field("sub")? },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

pub struct LinkMachine;

impl Machine for LinkMachine {
    type State = LinkState;
    type Op = LinkOp;
    /// The account linked after the operation.
    type Reply = Option<Linked>;

    fn apply(slot: &mut Option<LinkState>, op: LinkOp, now: u64) -> Option<Linked> {
        let linked = slot.as_ref().and_then(|s| s.linked.clone());
        match (op, linked) {
            (LinkOp::Find, linked) => linked,
            (LinkOp::Claim(new), None) => {
                *slot = Some(LinkState {
                    linked: Some(new.clone()),
                    released_at: None,
                });
                Some(new)
            }
            (LinkOp::Claim(_), linked) => linked,
            (LinkOp::Release { sub }, Some(l)) if l.sub == sub => {
                *slot = Some(LinkState {
                    linked: None,
                    released_at: Some(now),
                });
                None
            }
            (LinkOp::Release { .. }, linked) => linked,
        }
    }

    fn ends_at(state: &LinkState) -> u64 {
        state.released_at.unwrap_or(NEVER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::step;

    fn linked(sub: &str) -> Linked {
        Linked {
            sub: sub.into(),
            username: format!("user-{sub}"),
            idp: "github".into(),
            linked_at: 10,
        }
    }

    #[test]
    fn the_first_claim_wins_and_later_ones_find_it() {
        let mut slot = None;
        assert_eq!(step::<LinkMachine>(&mut slot, LinkOp::Find, 1).reply, None);
        let first = step::<LinkMachine>(&mut slot, LinkOp::Claim(linked("a")), 2);
        assert_eq!(first.reply, Some(linked("a")));
        assert!(first.changed);
        assert_eq!(first.alarm_at, Some(NEVER + 1));
        let second = step::<LinkMachine>(&mut slot, LinkOp::Claim(linked("b")), 3);
        assert_eq!(
            second.reply,
            Some(linked("a")),
            "a second account does not take the identity"
        );
        assert!(!second.changed);
        assert_eq!(step::<LinkMachine>(&mut slot, LinkOp::Find, 4).reply, Some(linked("a")));
    }

    #[test]
    fn operations_read_back_as_written() {
        for op in [
            LinkOp::Find,
            LinkOp::Claim(linked("a")),
            LinkOp::Release { sub: "a".into() },
        ] {
            let json = serde_json::to_string(&op).unwrap();
            let back: LinkOp = serde_json::from_str(&json).unwrap();
            assert_eq!(format!("{back:?}"), format!("{op:?}"), "{json}");
        }
        assert_eq!(serde_json::to_string(&LinkOp::Find).unwrap(), r#""find""#);
        for bad in [r#""lose""#, r#"{"claim": {"sub": "a"}}"#, r#"{"release": {}}"#, "1"] {
            assert!(serde_json::from_str::<LinkOp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_linked_account_unlinks_and_then_the_record_can_go() {
        let mut slot = None;
        step::<LinkMachine>(&mut slot, LinkOp::Claim(linked("a")), 2);
        let other = step::<LinkMachine>(&mut slot, LinkOp::Release { sub: "b".into() }, 3);
        assert_eq!(other.reply, Some(linked("a")));
        assert!(!other.changed);
        let own = step::<LinkMachine>(&mut slot, LinkOp::Release { sub: "a".into() }, 5);
        assert_eq!(own.reply, None);
        assert_eq!(own.alarm_at, Some(6), "the emptied object is deleted");
        // Linked again afterwards (to whoever claims it first).
        assert_eq!(
            step::<LinkMachine>(&mut slot, LinkOp::Claim(linked("b")), 7).reply,
            Some(linked("b"))
        );
        assert_eq!(slot.as_ref().and_then(|s| s.released_at), None);
    }
}
