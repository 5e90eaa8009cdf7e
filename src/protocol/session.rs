//! Login sessions and remembered consent: what the authorization endpoint
//! knows about a person between requests.

use super::acr::password_amr;
use super::user::UserRecord;
use serde::{Deserialize, Serialize};

/// A login session. The browser holds a random session id in a cookie; the
/// store keys the record by the id's hash, so a leaked store listing does
/// not yield usable cookies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub key: String,
    pub username: String,
    pub sub: String,
    pub auth_time: u64,
    pub expires_at: u64,
    /// The user's `session_epoch` when the session began: a password change
    /// moves the user's on, which ends this session wherever it is used.
    #[serde(default)]
    pub epoch: u32,
    /// RFC 8176 methods of the sign-in (`["pwd"]`, or a passkey's
    /// `["hwk", "user"]` / `["swk", "user"]`); sessions stored before it
    /// was kept began with a password, the only way in then.
    #[serde(default = "password_amr")]
    pub amr: Vec<String>,
    /// The upstream provider (its id) the person signed in through; `amr`
    /// is then the upstream's own, as it sent it (possibly none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

impl SessionRecord {
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at
    }

    /// Whether the session still signs in `user`: the same account (not
    /// deleted and re-created under the name) and no password change since.
    pub fn belongs_to(&self, user: &UserRecord) -> bool {
        self.sub == user.sub && self.epoch == user.session_epoch
    }

    /// The methods *we* checked, which alone decide an `acr`: an upstream's
    /// `amr` says how it signed the person in to itself, which a client
    /// asking us for a phishing-resistant sign-in cannot rely on.
    pub fn own_amr(&self) -> &[String] {
        match self.idp {
            Some(_) => &[],
            None => &self.amr,
        }
    }
}

/// A login session as its user's list of sessions knows it
/// (`user_session:<sub>:<session key>` in KV, kept as long as the session):
/// written where the session begins, deleted where it ends. KV has no index
/// of its own, and sessions are keyed by the hash of their id, so this is
/// how an administrator finds a user's sessions. An entry may outlive its
/// session ended by a password change or "sign out everywhere" (which move
/// the user's `session_epoch` on and delete nothing): [`UserSession::live`]
/// leaves those out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSession {
    /// `<sub>:<session key>` ([`UserSession::key_for`]).
    pub key: String,
    pub auth_time: u64,
    pub expires_at: u64,
    /// The user's `session_epoch` when the session began.
    pub epoch: u32,
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

impl UserSession {
    /// The entry of `session`.
    pub fn of(session: &SessionRecord) -> Self {
        UserSession {
            key: Self::key_for(&session.sub, &session.key),
            auth_time: session.auth_time,
            expires_at: session.expires_at,
            epoch: session.epoch,
            amr: session.amr.clone(),
            idp: session.idp.clone(),
        }
    }

    /// The key of the entry of the session keyed `session_key` of `sub`.
    pub fn key_for(sub: &str, session_key: &str) -> String {
        format!("{sub}:{session_key}")
    }

    /// How the keys of `sub`'s entries begin (`sub` never contains `:`).
    pub fn keys_of(sub: &str) -> String {
        format!("{sub}:")
    }

    /// The key of the session record this entry is of.
    pub fn session_key(&self) -> &str {
        self.key.split_once(':').map_or("", |(_, session)| session)
    }

    /// Whether the session still signs `user` in at `now`: not expired,
    /// and begun under the user's current `session_epoch` (the entry is
    /// found under the user's `sub`, so the account is the same).
    pub fn live(&self, user: &UserRecord, now: u64) -> bool {
        now < self.expires_at && self.epoch == user.session_epoch
    }
}

/// The scopes a person has allowed a client, remembered so that a later
/// request for no more than these needs no consent page (and `prompt=none`
/// can succeed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub key: String,
    pub scopes: Vec<String>,
    pub granted_at: u64,
    /// The client's name as the consent page showed it, for the account
    /// page's list (which then needs no client lookups, and no fetches of
    /// Client ID Metadata Documents); none in consents given before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

impl ConsentRecord {
    pub fn key_for(sub: &str, client_id: &str) -> String {
        format!("{sub}:{client_id}")
    }

    /// How the keys of `sub`'s consents begin.
    pub fn keys_of(sub: &str) -> String {
        format!("{sub}:")
    }

    /// The client this consent is to (`sub` never contains `:`; a
    /// `client_id` may).
    pub fn client_id(&self) -> &str {
        self.key.split_once(':').map_or("", |(_, client)| client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_stored_before_amr_was_kept_is_a_password_session() {
        let stored = json!({"key": "k", "username": "alice", "sub": "s", "auth_time": 1, "expires_at": 2, "epoch": 0});
        let session: SessionRecord = serde_json::from_value(stored).unwrap();
        assert_eq!(session.amr, ["pwd"]);
        let passkey = SessionRecord {
            amr: vec!["hwk".into(), "user".into()],
            ..session
        };
        let back: SessionRecord = serde_json::from_value(serde_json::to_value(&passkey).unwrap()).unwrap();
        assert_eq!(back.amr, ["hwk", "user"]);
    }

    #[test]
    fn a_session_entry_names_its_session_and_ends_with_it() {
        let session = SessionRecord {
            key: "h4sh".into(),
            username: "alice".into(),
            sub: "s1".into(),
            auth_time: 10,
            expires_at: 100,
            epoch: 3,
            amr: vec!["pwd".into()],
            idp: None,
        };
        let entry = UserSession::of(&session);
        assert_eq!(entry.key, "s1:h4sh");
        assert!(entry.key.starts_with(&UserSession::keys_of("s1")));
        assert_eq!(entry.session_key(), "h4sh");
        assert_eq!((entry.auth_time, entry.expires_at, entry.epoch), (10, 100, 3));
        let mut user = crate::grants::testing::user();
        user.sub = "s1".into();
        user.session_epoch = 3;
        assert!(entry.live(&user, 99));
        assert!(!entry.live(&user, 100), "expired");
        user.end_sessions();
        assert!(!entry.live(&user, 99), "ended by a new epoch");
        // Small: no username, no sub beyond the key; idp only when there is one.
        let stored = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            stored,
            json!({"key": "s1:h4sh", "auth_time": 10, "expires_at": 100, "epoch": 3, "amr": ["pwd"]})
        );
        assert_eq!(serde_json::from_value::<UserSession>(stored).unwrap(), entry);
    }

    #[test]
    fn a_consent_knows_its_client_even_one_named_by_a_url() {
        let url = "https://app.example/client.json";
        let stored = json!({"key": ConsentRecord::key_for("s1", url), "scopes": ["openid"], "granted_at": 1});
        let consent: ConsentRecord = serde_json::from_value(stored).unwrap();
        assert_eq!(consent.client_id(), url);
        assert!(consent.key.starts_with(&ConsentRecord::keys_of("s1")));
        assert_eq!(consent.client_name, None, "consents given before names were kept");
    }
}
