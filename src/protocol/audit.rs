//! The audit log: one entry per admin action (who, what, when, from where),
//! in KV under a key that sorts newest first, so that listing the prefix
//! in KV's own order is the log from the latest entry back. Each entry is
//! its record's KV metadata too, so a page of the log is one `list` call.

use serde::{Deserialize, Serialize};

/// Keys count down from here (milliseconds since the epoch), so a later
/// entry's key sorts before an earlier one's: fixed width, 13 digits last
/// until the year 2286.
const COUNTDOWN: u64 = 9_999_999_999_999;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// [`AuditEntry::key_for`]: the countdown, then a random id.
    pub key: String,
    /// Unix seconds.
    pub at: u64,
    /// The administrator's username, or `ADMIN_TOKEN` for the JSON APIs.
    pub actor: String,
    /// The client address the action came from (`CF-Connecting-IP`).
    pub address: String,
    /// What was done: `client.create`, `user.delete`, `keys.rotate`, ...
    pub action: String,
    /// What it was done to (a client id, a username, ...), if anything.
    pub target: String,
    /// More about it, in words (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the log forgets it.
    pub expires_at: u64,
}

/// The actor name of calls made with the admin token.
pub const TOKEN_ACTOR: &str = "ADMIN_TOKEN";

impl AuditEntry {
    /// The key of an entry made at `at_ms` (milliseconds): later entries
    /// sort first; `id` (random) keeps entries of the same millisecond apart.
    pub fn key_for(at_ms: u64, id: &str) -> String {
        format!("{:013}.{id}", COUNTDOWN.saturating_sub(at_ms))
    }

    /// The entry as its KV metadata holds it (each field cut short by
    /// `store::labels`): what a page of the log shows.
    pub fn labels(&self) -> [(&'static str, Option<String>); 6] {
        [
            ("at", Some(self.at.to_string())),
            ("actor", Some(self.actor.clone())),
            ("address", Some(self.address.clone())),
            ("action", Some(self.action.clone())),
            ("target", Some(self.target.clone())),
            ("detail", self.detail.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_entries_sort_first() {
        let keys = [
            AuditEntry::key_for(1_764_633_600_001, "b"),
            AuditEntry::key_for(1_764_633_600_000, "a"),
            AuditEntry::key_for(999, "z"),
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys, "newest first in KV's (lexicographic) order");
        assert!(keys.iter().all(|k| k.split('.').next().unwrap().len() == 13));
    }
}
