//! A person's passkeys: the WebAuthn credentials registered to one account,
//! kept in one Durable Object per account (named by the account's `sub`,
//! which is also the WebAuthn user handle). One object per account means
//! the sign counter is checked and moved in one step wherever the sign-in
//! happens, and no two accounts share anything.
//!
//! The object holds the username too: a sign-in by a discoverable
//! credential brings only the user handle, and KV keys users by name.

use super::encoding::b64url;
use super::object::{Machine, Tagged};
use super::webauthn::{backup_eligibility_ok, counter_ok, Expected, PublicKey};
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};

/// At most this many passkeys per account: enough for every device a
/// person owns, few enough that the page and the object stay small.
pub const MAX_PASSKEYS: usize = 20;
/// Characters in a passkey's name.
pub const NAME_MAX: usize = 64;
/// The end of a state that must stay while the account has passkeys: the
/// object's alarm is set that far off (far, but within JavaScript's dates).
const NEVER: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// One registered credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passkey {
    /// The credential id, base64url.
    pub id: String,
    pub public_key: PublicKey,
    /// The authenticator's signature counter as last seen (0: it keeps none).
    pub sign_count: u32,
    /// WebAuthn's BE flag: the credential may be synced between devices
    /// (RFC 8176 `swk`); otherwise it is bound to one device (`hwk`).
    pub backup_eligible: bool,
    #[serde(default)]
    pub transports: Vec<String>,
    pub name: String,
    pub created_at: u64,
    #[serde(default)]
    pub last_used_at: Option<u64>,
}

impl Passkey {
    /// RFC 8176 §2 `amr` values of a sign-in with this passkey: the key
    /// proved (`hwk` if device-bound, `swk` if it may be synced) and the
    /// person verified by the authenticator (`user`).
    pub fn amr(&self) -> Vec<String> {
        let key = if self.backup_eligible { "swk" } else { "hwk" };
        vec![key.into(), "user".into()]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passkeys {
    pub username: String,
    pub credentials: Vec<Passkey>,
    /// Set when the last passkey went: the object may then be forgotten.
    #[serde(default)]
    pub emptied_at: Option<u64>,
}

/// Externally tagged (`{"add": {…}}`, `"list"`), unlike the older
/// objects' operations; read by hand (`Tagged`), in the form `Serialize`
/// writes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyOp {
    Add {
        username: String,
        passkey: Passkey,
    },
    List,
    Get {
        id: String,
    },
    /// A verified assertion: the counter it carried and its BE flag.
    Used {
        id: String,
        sign_count: u32,
        backup_eligible: bool,
    },
    Rename {
        id: String,
        name: String,
    },
    /// `keep_one`: refuse to remove the account's last passkey (it has no
    /// password to sign in with otherwise).
    Remove {
        id: String,
        keep_one: bool,
    },
    /// The account was deleted: its passkeys go with it.
    Forget,
}

impl<'de> Deserialize<'de> for PasskeyOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::external(d)?;
        Ok(match op.name() {
            "add" => PasskeyOp::Add {
                username: op.field("username")?,
                passkey: op.field("passkey")?,
            },
            "list" => PasskeyOp::List,
            "get" => PasskeyOp::Get { id: op.field("id")? },
            "used" => PasskeyOp::Used {
                id: op.field("id")?,
                sign_count: op.field("sign_count")?,
                backup_eligible: op.field("backup_eligible")?,
            },
            "rename" => PasskeyOp::Rename {
                id: op.field("id")?,
                name: op.field("name")?,
            },
            "remove" => PasskeyOp::Remove {
                id: op.field("id")?,
                keep_one: op.field("keep_one")?,
            },
            "forget" => PasskeyOp::Forget,
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// Externally tagged and read by hand, as [`PasskeyOp`] is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyReply {
    Added,
    /// The account has [`MAX_PASSKEYS`] already.
    Full,
    /// This credential is registered already.
    Duplicate,
    List {
        passkeys: Vec<Passkey>,
    },
    Found {
        username: String,
        passkey: Passkey,
    },
    Missing,
    Done,
    /// The counter did not move forward: the credential may have been
    /// cloned (WebAuthn §6.1.1). The sign-in is refused.
    CounterWentBack,
    /// The BE flag changed since registration, which an authenticator
    /// never does (WebAuthn §6.1 "Backup Eligibility").
    BackupEligibilityChanged,
    /// The last passkey of an account without a password stays.
    LastOne,
}

impl<'de> Deserialize<'de> for PasskeyReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let reply = Tagged::external(d)?;
        Ok(match reply.name() {
            "added" => PasskeyReply::Added,
            "full" => PasskeyReply::Full,
            "duplicate" => PasskeyReply::Duplicate,
            "list" => PasskeyReply::List {
                passkeys: reply.field("passkeys")?,
            },
            "found" => PasskeyReply::Found {
                username: reply.field("username")?,
                passkey: reply.field("passkey")?,
            },
            "missing" => PasskeyReply::Missing,
            "done" => PasskeyReply::Done,
            "counter_went_back" => PasskeyReply::CounterWentBack,
            "backup_eligibility_changed" => PasskeyReply::BackupEligibilityChanged,
            "last_one" => PasskeyReply::LastOne,
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

pub struct PasskeyMachine;

impl Machine for PasskeyMachine {
    type State = Passkeys;
    type Op = PasskeyOp;
    type Reply = PasskeyReply;

    fn apply(slot: &mut Option<Passkeys>, op: PasskeyOp, now: u64) -> PasskeyReply {
        let live = slot.as_ref().map_or(&[][..], |s| s.credentials.as_slice());
        match op {
            PasskeyOp::List => PasskeyReply::List {
                passkeys: live.to_vec(),
            },
            PasskeyOp::Get { id } => match (slot.as_ref(), live.iter().find(|p| p.id == id)) {
                (Some(s), Some(p)) => PasskeyReply::Found {
                    username: s.username.clone(),
                    passkey: p.clone(),
                },
                _ => PasskeyReply::Missing,
            },
            PasskeyOp::Add { username, passkey } => add(slot, username, passkey),
            PasskeyOp::Used {
                id,
                sign_count,
                backup_eligible,
            } => match find(slot, &id) {
                None => PasskeyReply::Missing,
                Some(p) if !counter_ok(p.sign_count, sign_count) => PasskeyReply::CounterWentBack,
                Some(p) if !backup_eligibility_ok(p.backup_eligible, backup_eligible) => {
                    PasskeyReply::BackupEligibilityChanged
                }
                Some(p) => {
                    p.sign_count = sign_count;
                    p.last_used_at = Some(now);
                    PasskeyReply::Done
                }
            },
            PasskeyOp::Rename { id, name } => match find(slot, &id) {
                Some(p) => {
                    p.name = name;
                    PasskeyReply::Done
                }
                None => PasskeyReply::Missing,
            },
            PasskeyOp::Remove { id, keep_one } => remove(slot, &id, keep_one, now),
            PasskeyOp::Forget => {
                if let Some(state) = slot.as_mut().filter(|s| !s.credentials.is_empty()) {
                    state.credentials.clear();
                    state.emptied_at = Some(now);
                }
                PasskeyReply::Done
            }
        }
    }

    fn ends_at(state: &Passkeys) -> u64 {
        state.emptied_at.unwrap_or(NEVER)
    }
}

fn find<'s>(slot: &'s mut Option<Passkeys>, id: &str) -> Option<&'s mut Passkey> {
    slot.as_mut()?.credentials.iter_mut().find(|p| p.id == id)
}

fn add(slot: &mut Option<Passkeys>, username: String, passkey: Passkey) -> PasskeyReply {
    let state = slot.get_or_insert_with(|| Passkeys {
        username: username.clone(),
        credentials: Vec::new(),
        emptied_at: None,
    });
    if state.credentials.iter().any(|p| p.id == passkey.id) {
        return PasskeyReply::Duplicate;
    }
    if state.credentials.len() >= MAX_PASSKEYS {
        return PasskeyReply::Full;
    }
    state.username = username;
    state.credentials.push(passkey);
    state.emptied_at = None;
    PasskeyReply::Added
}

fn remove(slot: &mut Option<Passkeys>, id: &str, keep_one: bool, now: u64) -> PasskeyReply {
    let Some(state) = slot.as_mut() else {
        return PasskeyReply::Missing;
    };
    let Some(at) = state.credentials.iter().position(|p| p.id == id) else {
        return PasskeyReply::Missing;
    };
    if keep_one && state.credentials.len() == 1 {
        return PasskeyReply::LastOne;
    }
    state.credentials.remove(at);
    if state.credentials.is_empty() {
        state.emptied_at = Some(now);
    }
    PasskeyReply::Done
}

/// What the page hands `navigator.credentials.create()` (the script reads
/// it from the form's data attributes): everything but the algorithms and
/// the authenticator selection, which the script fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct CreationOptions {
    /// base64url, as every binary value below.
    pub challenge: String,
    pub rp_id: String,
    pub rp_name: String,
    /// The WebAuthn user handle: the account's `sub` (random, no personal
    /// data, WebAuthn §14.6.1).
    pub user_id: String,
    pub user_name: String,
    pub user_display_name: String,
    /// The account's passkeys, so the same authenticator is not registered twice.
    pub exclude: Vec<String>,
}

impl CreationOptions {
    pub fn new(
        expected: &Expected,
        rp_name: &str,
        sub: &str,
        username: &str,
        display_name: &str,
        existing: &[Passkey],
    ) -> Self {
        CreationOptions {
            challenge: b64url(&expected.challenge),
            rp_id: expected.rp_id.clone(),
            rp_name: rp_name.to_owned(),
            user_id: b64url(sub.as_bytes()),
            user_name: username.to_owned(),
            user_display_name: display_name.to_owned(),
            exclude: existing.iter().map(|p| p.id.clone()).collect(),
        }
    }
}

/// A name the person gives a passkey: trimmed, 1 to [`NAME_MAX`]
/// characters, no control characters. `None` when it is not one.
pub fn passkey_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty() && name.chars().count() <= NAME_MAX && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jose::SigningAlg;
    use crate::protocol::object::step;
    use crate::protocol::webauthn::challenge_for;

    fn passkey(id: &str, backup_eligible: bool) -> Passkey {
        Passkey {
            id: id.into(),
            public_key: PublicKey {
                alg: SigningAlg::ES256,
                jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
            },
            sign_count: 0,
            backup_eligible,
            transports: vec!["internal".into()],
            name: format!("key {id}"),
            created_at: 10,
            last_used_at: None,
        }
    }

    fn run(slot: &mut Option<Passkeys>, op: PasskeyOp, now: u64) -> PasskeyReply {
        step::<PasskeyMachine>(slot, op, now).reply
    }

    fn add_op(id: &str) -> PasskeyOp {
        PasskeyOp::Add {
            username: "ada".into(),
            passkey: passkey(id, false),
        }
    }

    #[test]
    fn operations_read_back_from_their_wire_form() {
        let json = |op: &PasskeyOp| serde_json::to_string(op).unwrap();
        let ops = [
            add_op("a"),
            PasskeyOp::List,
            PasskeyOp::Get { id: "a".into() },
            PasskeyOp::Used {
                id: "a".into(),
                sign_count: 3,
                backup_eligible: true,
            },
            PasskeyOp::Rename {
                id: "a".into(),
                name: "n".into(),
            },
            PasskeyOp::Remove {
                id: "a".into(),
                keep_one: true,
            },
            PasskeyOp::Forget,
        ];
        for op in ops {
            assert_eq!(json(&serde_json::from_str(&json(&op)).unwrap()), json(&op));
        }
        // As earlier releases write them; what is not an operation is refused.
        let rename = r#"{"rename":{"id":"a","name":"n"}}"#;
        assert_eq!(json(&serde_json::from_str(rename).unwrap()), rename);
        assert_eq!(json(&serde_json::from_str(r#""list""#).unwrap()), r#""list""#);
        let replies = [
            PasskeyReply::Added,
            PasskeyReply::List {
                passkeys: vec![passkey("a", true)],
            },
            PasskeyReply::Found {
                username: "alice".into(),
                passkey: passkey("a", false),
            },
            PasskeyReply::CounterWentBack,
            PasskeyReply::BackupEligibilityChanged,
            PasskeyReply::LastOne,
        ];
        for reply in replies {
            let text = serde_json::to_string(&reply).unwrap();
            assert_eq!(serde_json::from_str::<PasskeyReply>(&text).unwrap(), reply, "{text}");
        }
        for wrong in [
            r#""lists""#,
            r#"{"rename":{"id":"a"}}"#,
            r#"{"get":{"id":"a"},"list":{}}"#,
            r#"{"get":"a"}"#,
            "3",
        ] {
            assert!(serde_json::from_str::<PasskeyOp>(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn add_list_get_and_refuse_duplicates_and_more_than_the_maximum() {
        let mut slot = None;
        assert_eq!(
            run(&mut slot, PasskeyOp::Get { id: "a".into() }, 1),
            PasskeyReply::Missing
        );
        assert_eq!(run(&mut slot, add_op("a"), 1), PasskeyReply::Added);
        assert_eq!(run(&mut slot, add_op("a"), 1), PasskeyReply::Duplicate);
        match run(&mut slot, PasskeyOp::Get { id: "a".into() }, 1) {
            PasskeyReply::Found { username, passkey } => {
                assert_eq!((username.as_str(), passkey.id.as_str()), ("ada", "a"))
            }
            other => panic!("{other:?}"),
        }
        for n in 1..MAX_PASSKEYS {
            assert_eq!(run(&mut slot, add_op(&format!("k{n}")), 1), PasskeyReply::Added);
        }
        assert_eq!(run(&mut slot, add_op("one-too-many"), 1), PasskeyReply::Full);
        match run(&mut slot, PasskeyOp::List, 1) {
            PasskeyReply::List { passkeys } => assert_eq!(passkeys.len(), MAX_PASSKEYS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_use_moves_the_counter_forward_and_a_counter_going_back_is_refused() {
        let mut slot = None;
        run(&mut slot, add_op("a"), 1);
        let used = |count| PasskeyOp::Used {
            id: "a".into(),
            sign_count: count,
            backup_eligible: false,
        };
        assert_eq!(run(&mut slot, used(5), 20), PasskeyReply::Done);
        let stored = &slot.as_ref().unwrap().credentials[0];
        assert_eq!((stored.sign_count, stored.last_used_at), (5, Some(20)));
        assert_eq!(run(&mut slot, used(5), 21), PasskeyReply::CounterWentBack, "same count");
        assert_eq!(
            run(&mut slot, used(4), 21),
            PasskeyReply::CounterWentBack,
            "lower count"
        );
        assert_eq!(
            run(&mut slot, used(0), 21),
            PasskeyReply::CounterWentBack,
            "a counter cannot stop"
        );
        assert_eq!(slot.as_ref().unwrap().credentials[0].last_used_at, Some(20));
        assert_eq!(run(&mut slot, used(6), 22), PasskeyReply::Done);
    }

    #[test]
    fn an_authenticator_without_a_counter_stays_at_zero() {
        let mut slot = None;
        run(&mut slot, add_op("a"), 1);
        for now in [2, 3] {
            let op = PasskeyOp::Used {
                id: "a".into(),
                sign_count: 0,
                backup_eligible: false,
            };
            assert_eq!(run(&mut slot, op, now), PasskeyReply::Done);
        }
    }

    #[test]
    fn backup_eligibility_cannot_change() {
        let mut slot = None;
        run(&mut slot, add_op("a"), 1);
        let op = PasskeyOp::Used {
            id: "a".into(),
            sign_count: 0,
            backup_eligible: true,
        };
        assert_eq!(run(&mut slot, op, 2), PasskeyReply::BackupEligibilityChanged);
    }

    #[test]
    fn rename_and_remove_and_the_last_one_of_a_passkey_only_account_stays() {
        let mut slot = None;
        run(&mut slot, add_op("a"), 1);
        run(&mut slot, add_op("b"), 1);
        let rename = PasskeyOp::Rename {
            id: "b".into(),
            name: "Laptop".into(),
        };
        assert_eq!(run(&mut slot, rename, 2), PasskeyReply::Done);
        assert_eq!(slot.as_ref().unwrap().credentials[1].name, "Laptop");
        let remove = |id: &str, keep_one| PasskeyOp::Remove {
            id: id.into(),
            keep_one,
        };
        assert_eq!(run(&mut slot, remove("zz", true), 3), PasskeyReply::Missing);
        assert_eq!(run(&mut slot, remove("a", true), 3), PasskeyReply::Done);
        assert_eq!(run(&mut slot, remove("b", true), 3), PasskeyReply::LastOne);
        assert!(slot.as_ref().unwrap().emptied_at.is_none());
        let gone = step::<PasskeyMachine>(&mut slot, remove("b", false), 4);
        assert_eq!(gone.reply, PasskeyReply::Done);
        assert_eq!(gone.alarm_at, Some(5), "an emptied object goes at once");
        assert_eq!(
            run(&mut slot, PasskeyOp::Get { id: "b".into() }, 5),
            PasskeyReply::Missing
        );
    }

    #[test]
    fn a_deleted_account_forgets_its_passkeys() {
        let mut slot = None;
        assert_eq!(run(&mut slot, PasskeyOp::Forget, 1), PasskeyReply::Done);
        assert_eq!(slot, None, "nothing to forget stores nothing");
        run(&mut slot, add_op("a"), 1);
        let gone = step::<PasskeyMachine>(&mut slot, PasskeyOp::Forget, 7);
        assert_eq!(gone.alarm_at, Some(8));
        assert_eq!(
            run(&mut slot, PasskeyOp::Get { id: "a".into() }, 8),
            PasskeyReply::Missing
        );
    }

    #[test]
    fn amr_says_whether_the_key_may_be_synced() {
        assert_eq!(passkey("a", false).amr(), ["hwk", "user"]);
        assert_eq!(passkey("a", true).amr(), ["swk", "user"]);
    }

    #[test]
    fn creation_options_name_the_account_by_its_sub() {
        let e = Expected::for_issuer("https://id.example.com", challenge_for("f")).unwrap();
        let o = CreationOptions::new(&e, "Example", "sub-1", "ada", "Ada L.", &[passkey("k1", false)]);
        assert_eq!(o.user_id, b64url(b"sub-1"));
        assert_eq!(o.challenge, b64url(&e.challenge));
        assert_eq!(o.exclude, ["k1"]);
        assert_eq!((o.rp_id.as_str(), o.user_name.as_str()), ("id.example.com", "ada"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(passkey_name("  Phone "), Some("Phone".into()));
        assert_eq!(passkey_name(&"é".repeat(NAME_MAX)), Some("é".repeat(NAME_MAX)));
        for bad in ["", "   ", "a\u{0}b", "line\nbreak"] {
            assert_eq!(passkey_name(bad), None, "{bad:?}");
        }
        assert_eq!(passkey_name(&"x".repeat(NAME_MAX + 1)), None);
    }
}
