//! An administrator's console session: one Durable Object per session,
//! named by the SHA-256 of its cookie's secret. It ends when unused for its
//! idle time, at its absolute end, or when signed out, everywhere at once:
//! a console session is worth more than a person's own, so it is kept
//! where ending it cannot lag (KV would let an ended session live on
//! elsewhere for up to a minute).

use crate::protocol::object::{Machine, Tagged};
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};

/// However busy, a console session ends this long after its sign-in.
pub const ABSOLUTE_TTL: u64 = 8 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminSession {
    pub username: String,
    pub sub: String,
    /// The user's `session_epoch` at sign-in: a password change (or revoked
    /// grants) ends this session too.
    pub session_epoch: u32,
    /// The last sign-in or re-authentication.
    pub auth_time: u64,
    pub last_seen: u64,
    /// Unused this long, it ends.
    pub idle_ttl: u64,
    pub expires_at: u64,
    /// Signed out: nothing opens it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
}

impl AdminSession {
    pub fn new(username: &str, sub: &str, session_epoch: u32, idle_ttl: u64, now: u64) -> Self {
        AdminSession {
            username: username.to_owned(),
            sub: sub.to_owned(),
            session_epoch,
            auth_time: now,
            last_seen: now,
            idle_ttl,
            expires_at: now + ABSOLUTE_TTL,
            ended: false,
        }
    }

    fn live(&self, now: u64) -> bool {
        !self.ended && now < self.ends_at()
    }

    fn ends_at(&self) -> u64 {
        if self.ended {
            self.last_seen
        } else {
            (self.last_seen + self.idle_ttl).min(self.expires_at)
        }
    }

    /// Whether destructive actions may go ahead without signing in again:
    /// the last sign-in is at most `window` seconds old.
    pub fn recent(&self, now: u64, window: u64) -> bool {
        now.saturating_sub(self.auth_time) <= window
    }
}

/// Where a sign-in may send the administrator back to: a path of the
/// console's own (`/admin` or beneath it), nothing that a browser could
/// read as another site (`//host`, `/\\host`) or another path (`..`), no
/// query or fragment beyond what a console path has (`?` … is allowed,
/// `#` is not), only URL-safe characters.
pub fn return_path(path: &str) -> Option<&str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/-._~%@+=&?".contains(c);
    let console = path == "/admin" || path.starts_with("/admin/") || path.starts_with("/admin?");
    (console && path.len() <= 512 && path.chars().all(safe) && !path.contains("//") && !path.contains(".."))
        .then_some(path)
}

/// Externally tagged, read by hand (`Tagged`) as the other objects'
/// operations are.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminSessionOp {
    /// Starts the session (a fresh id: nothing is there).
    Begin(AdminSession),
    /// The session if live, and now counts as its latest use.
    Touch,
    /// A new sign-in by the same administrator renews `auth_time`.
    Reauth { sub: String },
    /// Signs out.
    End,
}

impl<'de> Deserialize<'de> for AdminSessionOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::external(d)?;
        Ok(match op.name() {
            "begin" => AdminSessionOp::Begin(op.fields()?),
            "touch" => AdminSessionOp::Touch,
            "reauth" => AdminSessionOp::Reauth { sub: op.field("sub")? },
            "end" => AdminSessionOp::End,
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

pub struct AdminSessionMachine;

impl Machine for AdminSessionMachine {
    type State = AdminSession;
    type Op = AdminSessionOp;
    /// The session after the operation, if it is live.
    type Reply = Option<AdminSession>;

    fn apply(slot: &mut Option<AdminSession>, op: AdminSessionOp, now: u64) -> Option<AdminSession> {
        if let AdminSessionOp::Begin(new) = op {
            return slot.is_none().then(|| slot.insert(new).clone());
        }
        let s = slot.as_mut().filter(|s| s.live(now))?;
        match op {
            AdminSessionOp::Touch => s.last_seen = now,
            AdminSessionOp::Reauth { sub } if s.sub == sub => (s.auth_time, s.last_seen) = (now, now),
            AdminSessionOp::End => {
                (s.ended, s.last_seen) = (true, now);
                return None;
            }
            _ => return None,
        }
        Some(s.clone())
    }

    fn ends_at(state: &AdminSession) -> u64 {
        state.ends_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::step;

    fn begun(now: u64) -> Option<AdminSession> {
        let mut slot = None;
        let s = AdminSession::new("root", "s-1", 3, 1800, now);
        assert!(step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Begin(s), now)
            .reply
            .is_some());
        slot
    }

    #[test]
    fn use_keeps_it_alive_and_idleness_ends_it() {
        let mut slot = begun(100);
        let touched = step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Touch, 1800);
        assert_eq!(touched.reply.unwrap().last_seen, 1800);
        assert!(touched.changed);
        assert_eq!(
            touched.alarm_at, None,
            "a later end keeps the alarm, which moves on when it fires"
        );
        assert!(step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Touch, 3599)
            .reply
            .is_some());
        assert_eq!(
            step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Touch, 3599 + 1800).reply,
            None,
            "unused for its idle time"
        );
    }

    #[test]
    fn it_ends_at_its_absolute_end_however_busy() {
        let mut slot = begun(0);
        for t in (1000..ABSOLUTE_TTL).step_by(1000) {
            assert!(step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Touch, t)
                .reply
                .is_some());
        }
        assert_eq!(
            step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Touch, ABSOLUTE_TTL).reply,
            None
        );
    }

    #[test]
    fn signing_out_ends_it_for_good_and_lets_the_storage_go() {
        let mut slot = begun(10);
        let end = step::<AdminSessionMachine>(&mut slot, AdminSessionOp::End, 20);
        assert_eq!(end.reply, None);
        assert_eq!(end.alarm_at, Some(21));
        for op in [AdminSessionOp::Touch, AdminSessionOp::Reauth { sub: "s-1".into() }] {
            assert_eq!(step::<AdminSessionMachine>(&mut slot, op, 21).reply, None);
        }
        let again = AdminSession::new("root", "s-1", 3, 1800, 22);
        assert_eq!(
            step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Begin(again), 22).reply,
            None
        );
    }

    #[test]
    fn only_its_own_administrator_renews_the_sign_in() {
        let mut slot = begun(0);
        assert!(!slot.as_ref().unwrap().recent(301, 300));
        let other = step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Reauth { sub: "s-2".into() }, 400);
        assert_eq!(other.reply, None);
        let own = step::<AdminSessionMachine>(&mut slot, AdminSessionOp::Reauth { sub: "s-1".into() }, 400);
        let s = own.reply.unwrap();
        assert_eq!(s.auth_time, 400);
        assert!(s.recent(700, 300) && !s.recent(701, 300));
    }

    #[test]
    fn only_console_paths_are_returned_to() {
        for ok in [
            "/admin",
            "/admin/clients/abc/delete",
            "/admin/accounts/a%40b.c?x=1&y=2",
            "/admin?q=1",
        ] {
            assert_eq!(return_path(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "/",
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil.example",
            "/admin/\\evil",
            "/administrator",
            "/admin/../token",
            "/admin/x#frag",
            "/admin/<script>",
            "/admin/a b",
            "admin",
        ] {
            assert_eq!(return_path(bad), None, "{bad}");
        }
        assert_eq!(return_path(&format!("/admin/{}", "a".repeat(600))), None);
    }

    #[test]
    fn operations_read_back_as_written() {
        for op in [
            AdminSessionOp::Begin(AdminSession::new("a", "b", 0, 60, 1)),
            AdminSessionOp::Touch,
            AdminSessionOp::Reauth { sub: "b".into() },
            AdminSessionOp::End,
        ] {
            let json = serde_json::to_string(&op).unwrap();
            let back: AdminSessionOp = serde_json::from_str(&json).unwrap();
            assert_eq!(format!("{back:?}"), format!("{op:?}"), "{json}");
        }
        for bad in [r#""open""#, r#"{"reauth": {}}"#, r#"{"begin": {"sub": "a"}}"#, "2"] {
            assert!(serde_json::from_str::<AdminSessionOp>(bad).is_err(), "{bad}");
        }
    }
}
