//! Single-use things a browser could replay (a posted form today; later
//! enrollment links and passkey challenges): the first use wins, every
//! later one is refused, until the thing has expired anyway and its record
//! can go.

use super::object::Machine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Used {
    /// When the thing would have expired by itself.
    pub expires_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Use {
    pub expires_at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseReply {
    /// This was the first use.
    First,
    /// It had been used before: refuse it.
    Replayed,
}

pub struct OnceMachine;

impl Machine for OnceMachine {
    type State = Used;
    type Op = Use;
    type Reply = UseReply;

    fn apply(slot: &mut Option<Used>, op: Use, _now: u64) -> UseReply {
        if slot.is_some() {
            return UseReply::Replayed;
        }
        *slot = Some(Used {
            expires_at: op.expires_at,
        });
        UseReply::First
    }

    /// Past its own expiry the thing is refused without asking, so the
    /// record of its use is no longer needed.
    fn ends_at(used: &Used) -> u64 {
        used.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::{next_alarm, step};

    #[test]
    fn the_first_use_wins_and_the_record_goes_at_expiry() {
        let mut slot = None;
        let first = step::<OnceMachine>(&mut slot, Use { expires_at: 1000 }, 100);
        assert_eq!(first.reply, UseReply::First);
        assert!(first.changed);
        assert_eq!(first.alarm_at, Some(1001));
        let again = step::<OnceMachine>(&mut slot, Use { expires_at: 1000 }, 101);
        assert_eq!(again.reply, UseReply::Replayed);
        assert!(!again.changed && again.alarm_at.is_none());
        assert_eq!(next_alarm::<OnceMachine>(slot.as_ref(), 500), Some(1001));
        assert_eq!(next_alarm::<OnceMachine>(slot.as_ref(), 1000), None);
    }
}
