//! Sign-in throttling (OWASP ASVS 2.2.1, RFC 6819 §4.4.3.6): failed
//! password attempts are counted per account and per client address, each
//! count in its own Durable Object, and after a few failures the next
//! attempt must wait, twice as long after each further failure, up to a
//! cap. A refused attempt is answered before any password work, so it costs
//! almost nothing; the owner is never locked out for good, because after
//! the wait a correct password works and resets the account's count.
//!
//! Every attempt is counted when it starts, in the same step that decides
//! whether it may go: concurrent guesses cannot all slip past one check.
//! A successful sign-in then takes its own attempt back.

use super::object::{Machine, Tagged};
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Failures allowed before the first wait.
    pub free: u32,
    /// The first wait (seconds), doubled with every failure after it.
    pub base: u64,
    /// The longest wait (seconds).
    pub cap: u64,
    /// A count left alone this long starts over (seconds).
    pub forget_after: u64,
}

/// One account: five failures, then 1 s, 2 s, 4 s … up to 15 minutes.
pub const PER_ACCOUNT: Policy = Policy {
    free: 5,
    base: 1,
    cap: 900,
    forget_after: 86_400,
};

/// One client address, whichever accounts it tries: room for a shared
/// office's typing errors, not for spraying guesses over many accounts.
pub const PER_ADDRESS: Policy = Policy {
    free: 20,
    base: 1,
    cap: 900,
    forget_after: 3_600,
};

impl Policy {
    /// How long to wait after the `failures`-th failure.
    pub fn wait_after(&self, failures: u32) -> u64 {
        let Some(doublings) = failures.checked_sub(self.free) else {
            return 0;
        };
        let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub failures: u32,
    /// No attempt goes before this moment.
    pub blocked_until: u64,
    /// When the count starts over by itself (and the object may go).
    pub forget_at: u64,
}

/// Read by hand (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ThrottleOp {
    /// A password is about to be checked: may it be, and count it.
    Attempt { policy: Policy },
    /// The attempt succeeded: forget every failure (an account), or only
    /// this attempt (an address, which others may share).
    Succeeded { reset: bool },
}

impl<'de> Deserialize<'de> for ThrottleOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::internal(d, "op")?;
        Ok(match op.name() {
            "attempt" => ThrottleOp::Attempt {
                policy: op.field("policy")?,
            },
            "succeeded" => ThrottleOp::Succeeded {
                reset: op.field("reset")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// Read by hand (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum ThrottleReply {
    Go,
    /// Refused: try again in this many seconds (at least one).
    Wait {
        retry_after: u64,
    },
}

impl<'de> Deserialize<'de> for ThrottleReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let reply = Tagged::internal(d, "reply")?;
        Ok(match reply.name() {
            "go" => ThrottleReply::Go,
            "wait" => ThrottleReply::Wait {
                retry_after: reply.field("retry_after")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

pub struct ThrottleMachine;

impl Machine for ThrottleMachine {
    type State = Attempts;
    type Op = ThrottleOp;
    type Reply = ThrottleReply;

    fn apply(slot: &mut Option<Attempts>, op: ThrottleOp, now: u64) -> ThrottleReply {
        let live = slot.take().filter(|a| now < a.forget_at);
        match op {
            ThrottleOp::Attempt { policy } => {
                if let Some(a) = live.as_ref().filter(|a| now < a.blocked_until) {
                    let retry_after = a.blocked_until - now;
                    *slot = live;
                    return ThrottleReply::Wait { retry_after };
                }
                let failures = live.map_or(0, |a| a.failures).saturating_add(1);
                *slot = Some(Attempts {
                    failures,
                    blocked_until: wait_until(now, policy.wait_after(failures)),
                    forget_at: now + policy.forget_after,
                });
                ThrottleReply::Go
            }
            ThrottleOp::Succeeded { reset } => {
                *slot = live.map(|a| Attempts {
                    failures: if reset { 0 } else { a.failures.saturating_sub(1) },
                    blocked_until: if reset { 0 } else { a.blocked_until },
                    ..a
                });
                ThrottleReply::Go
            }
        }
    }

    fn ends_at(a: &Attempts) -> u64 {
        a.forget_at.max(a.blocked_until)
    }
}

/// The clock here ticks in whole seconds, and `now` may be the last moment
/// of one: a wait of `n` seconds lasts until `n` whole seconds have passed
/// after it, so it is never shorter than `n` (and at most a second longer).
fn wait_until(now: u64, wait: u64) -> u64 {
    match wait {
        0 => now,
        n => now.saturating_add(n).saturating_add(1),
    }
}

/// The name of an account's throttle: the same for every spelling of one
/// username (usernames are ASCII, compared without case here), and the same
/// whether or not the account exists, so the throttle tells nothing about
/// which accounts do. Hashed, so the object's name does not carry it.
pub fn account_key(username: &str, hash: impl Fn(&str) -> String) -> String {
    format!("account:{}", hash(&username.trim().to_ascii_lowercase()))
}

/// The name of a client address's throttle ([`network`]).
pub fn address_key(address: &str) -> String {
    format!("address:{}", network(address))
}

/// What is counted for a client address. An IPv6 host usually holds a
/// whole /64, so the /64 is what is counted; an address that does not parse
/// is counted as it was given.
pub fn network(address: &str) -> String {
    match address.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::{next_alarm, step};

    fn attempt(slot: &mut Option<Attempts>, policy: Policy, now: u64) -> ThrottleReply {
        step::<ThrottleMachine>(slot, ThrottleOp::Attempt { policy }, now).reply
    }

    #[test]
    fn operations_and_replies_read_back_from_their_wire_form() {
        let json = |op: &ThrottleOp| serde_json::to_string(op).unwrap();
        for op in [
            ThrottleOp::Attempt { policy: PER_ADDRESS },
            ThrottleOp::Succeeded { reset: true },
        ] {
            assert_eq!(json(&serde_json::from_str(&json(&op)).unwrap()), json(&op));
        }
        let attempt = r#"{"op":"attempt","policy":{"free":20,"base":1,"cap":900,"forget_after":3600}}"#;
        assert_eq!(json(&serde_json::from_str(attempt).unwrap()), attempt);
        for reply in [ThrottleReply::Go, ThrottleReply::Wait { retry_after: 3 }] {
            let text = serde_json::to_string(&reply).unwrap();
            assert_eq!(serde_json::from_str::<ThrottleReply>(&text).unwrap(), reply);
        }
        let wait = serde_json::from_str::<ThrottleReply>(r#"{"reply":"wait","retry_after":3}"#);
        assert_eq!(wait.unwrap(), ThrottleReply::Wait { retry_after: 3 });
        for wrong in [r#"{"op":"attempt"}"#, r#"{"op":"forgive"}"#, r#"{"reset":true}"#] {
            assert!(serde_json::from_str::<ThrottleOp>(wrong).is_err(), "{wrong}");
        }
        assert!(serde_json::from_str::<ThrottleReply>(r#"{"reply":"wait"}"#).is_err());
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        let p = PER_ACCOUNT;
        assert_eq!((1..=4).map(|n| p.wait_after(n)).collect::<Vec<_>>(), [0, 0, 0, 0]);
        assert_eq!((5..=9).map(|n| p.wait_after(n)).collect::<Vec<_>>(), [1, 2, 4, 8, 16]);
        assert_eq!(p.wait_after(15), 900);
        assert_eq!(p.wait_after(u32::MAX), 900);
    }

    #[test]
    fn five_failures_then_each_attempt_waits_its_turn() {
        let mut slot = None;
        for t in 0..5 {
            assert_eq!(attempt(&mut slot, PER_ACCOUNT, 100 + t), ThrottleReply::Go);
        }
        // The fifth failure (at 104) asks for 1 s: at least one whole second,
        // so not before 106 on a clock of whole seconds.
        assert_eq!(
            attempt(&mut slot, PER_ACCOUNT, 104),
            ThrottleReply::Wait { retry_after: 2 }
        );
        assert_eq!(
            attempt(&mut slot, PER_ACCOUNT, 105),
            ThrottleReply::Wait { retry_after: 1 }
        );
        // A refused attempt is not counted: the wait stays as it was.
        assert_eq!(slot.as_ref().unwrap().failures, 5);
        assert_eq!(attempt(&mut slot, PER_ACCOUNT, 106), ThrottleReply::Go);
        // Then 2 s, then 4 s.
        assert_eq!(
            attempt(&mut slot, PER_ACCOUNT, 108),
            ThrottleReply::Wait { retry_after: 1 }
        );
        assert_eq!(attempt(&mut slot, PER_ACCOUNT, 109), ThrottleReply::Go);
        assert_eq!(
            attempt(&mut slot, PER_ACCOUNT, 109),
            ThrottleReply::Wait { retry_after: 5 }
        );
    }

    #[test]
    fn after_the_wait_a_success_resets_an_account() {
        let mut slot: Option<Attempts> = None;
        // A patient guesser, always back exactly when the wait is over.
        let mut now = 100;
        for _ in 0..30 {
            now = slot.as_ref().map_or(now, |a| a.blocked_until.max(now));
            assert_eq!(attempt(&mut slot, PER_ACCOUNT, now), ThrottleReply::Go);
        }
        let Some(a) = &slot else { panic!("counted") };
        assert_eq!(a.blocked_until, now + 900 + 1, "never more than the cap");
        let now = a.blocked_until;
        // The owner, after the wait: the attempt goes, and success forgets all.
        assert_eq!(attempt(&mut slot, PER_ACCOUNT, now), ThrottleReply::Go);
        step::<ThrottleMachine>(&mut slot, ThrottleOp::Succeeded { reset: true }, now);
        assert_eq!(slot.as_ref().unwrap().failures, 0);
        assert_eq!(attempt(&mut slot, PER_ACCOUNT, now), ThrottleReply::Go);
    }

    #[test]
    fn a_success_takes_back_only_its_own_attempt_at_an_address() {
        let mut slot = None;
        for _ in 0..3 {
            attempt(&mut slot, PER_ADDRESS, 100);
        }
        step::<ThrottleMachine>(&mut slot, ThrottleOp::Succeeded { reset: false }, 100);
        assert_eq!(slot.as_ref().unwrap().failures, 2);
    }

    #[test]
    fn a_count_left_alone_starts_over_and_its_storage_goes() {
        let mut slot = None;
        let first = step::<ThrottleMachine>(&mut slot, ThrottleOp::Attempt { policy: PER_ADDRESS }, 100);
        assert_eq!(first.alarm_at, Some(100 + 3_600 + 1));
        // Later attempts move the end later: no alarm write, it moves itself.
        let later = step::<ThrottleMachine>(&mut slot, ThrottleOp::Attempt { policy: PER_ADDRESS }, 200);
        assert_eq!(later.alarm_at, None);
        assert_eq!(
            next_alarm::<ThrottleMachine>(slot.as_ref(), 3_701),
            Some(200 + 3_600 + 1)
        );
        assert_eq!(next_alarm::<ThrottleMachine>(slot.as_ref(), 3_800), None);
        attempt(&mut slot, PER_ADDRESS, 3_800);
        assert_eq!(slot.as_ref().unwrap().failures, 1, "forgotten, then counted afresh");
        // A success on a forgotten count leaves nothing.
        let mut old = Some(Attempts {
            failures: 9,
            blocked_until: 0,
            forget_at: 50,
        });
        step::<ThrottleMachine>(&mut old, ThrottleOp::Succeeded { reset: false }, 100);
        assert_eq!(old, None);
    }

    #[test]
    fn keys_name_accounts_and_networks() {
        let h = |s: &str| format!("h({s})");
        assert_eq!(account_key(" Alice ", h), "account:h(alice)");
        assert_eq!(account_key("nobody", h), "account:h(nobody)");
        assert_eq!(address_key("203.0.113.7"), "address:203.0.113.7");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")
        );
        assert_eq!(address_key("2001:db8:1:2::9"), "address:2001:db8:1:2::/64");
        assert_eq!(address_key("not an ip"), "address:not an ip");
    }
}
