//! Password sign-in behind the throttles (`protocol::throttle`): the
//! client address's count, then the account's, each decided and counted in
//! one step of its own Durable Object, before any password work. A refused
//! attempt therefore costs two small object calls and no PBKDF2.
//!
//! The address goes first: an address already refused does not add to the
//! account's count, so one address alone cannot hold an account's owner
//! back for long.

use crate::grants::password::verify_password;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::throttle::{
    account_key, address_key, ThrottleMachine, ThrottleOp, ThrottleReply, PER_ACCOUNT, PER_ADDRESS,
};
use crate::protocol::user::{PasswordHash, UserRecord, PASSWORD_HASH_ALG};
use crate::store::{ObjectStore, PasswordHasher, RecordStore};

/// What one password attempt brings.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The client's address (`CF-Connecting-IP`).
    pub address: &'a str,
}

/// What sign-in needs from the platform.
pub struct SignInStores<'a> {
    pub throttles: &'a dyn ObjectStore<ThrottleMachine>,
    pub users: &'a dyn RecordStore<UserRecord>,
    pub hasher: &'a dyn PasswordHasher,
    /// `PASSWORD_ITERATIONS`: what new hashes are made with, so what an
    /// unknown username is checked at.
    pub iterations: u32,
}

fn keys(attempt: &Attempt<'_>) -> (String, String) {
    (address_key(attempt.address), account_key(attempt.username, secret_hash))
}

/// May this attempt's password be checked? It is counted either way it
/// goes; `Some(seconds)` refuses it: try again in that many seconds. Call
/// [`check`] next when it may.
pub async fn admit(stores: &SignInStores<'_>, attempt: &Attempt<'_>, now: u64) -> OAuthResult<Option<u64>> {
    let (address, account) = keys(attempt);
    for (key, policy) in [(&address, PER_ADDRESS), (&account, PER_ACCOUNT)] {
        let reply = stores.throttles.apply(key, ThrottleOp::Attempt { policy }, now).await?;
        if let ThrottleReply::Wait { retry_after } = reply {
            return Ok(Some(retry_after));
        }
    }
    Ok(None)
}

/// Checks an admitted attempt's password: the user when it is right (and
/// the account's count is reset, the address's attempt taken back), `None`
/// when the username or the password is wrong, which is not said.
pub async fn check(stores: &SignInStores<'_>, attempt: &Attempt<'_>, now: u64) -> OAuthResult<Option<UserRecord>> {
    let Some(user) = authenticate(stores, attempt).await? else {
        return Ok(None);
    };
    let (address, account) = keys(attempt);
    for (key, reset) in [(&account, true), (&address, false)] {
        stores
            .throttles
            .apply(key, ThrottleOp::Succeeded { reset }, now)
            .await?;
    }
    Ok(Some(user))
}

/// Checks the password; an unknown username costs the same PBKDF2 work as
/// a known one whose hash was made under the current setting (and so does
/// a passkey-only account, which no password opens), so timing does not
/// reveal which usernames exist. (A hash kept from under another setting
/// takes its own count's time until its password is set again.)
async fn authenticate(stores: &SignInStores<'_>, attempt: &Attempt<'_>) -> OAuthResult<Option<UserRecord>> {
    let user = stores.users.get(attempt.username).await?;
    let dummy = PasswordHash {
        alg: PASSWORD_HASH_ALG.into(),
        iterations: stores.iterations,
        salt: "c2FsdHNhbHRzYWx0c2FsdA".into(),
        hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    };
    let stored = user.as_ref().and_then(|u| u.password.as_ref());
    let ok = verify_password(stores.hasher, attempt.password, stored.unwrap_or(&dummy)).await? && stored.is_some();
    Ok(user.filter(|_| ok))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::password::{hash_password, tests::HostHasher};
    use crate::grants::testing::user;
    use crate::protocol::throttle::Attempts;
    use crate::store::memory::{MemoryObjects, MemoryStore};
    use async_trait::async_trait;
    use futures::executor::block_on;
    use std::cell::Cell;

    /// Counts PBKDF2 runs, so a test can tell a refused attempt did none,
    /// and keeps the iteration count of the last.
    #[derive(Default)]
    struct CountingHasher(Cell<u32>, Cell<u32>);

    #[async_trait(?Send)]
    impl PasswordHasher for CountingHasher {
        async fn pbkdf2_sha256(&self, p: &[u8], salt: &[u8], iterations: u32) -> crate::store::StoreResult<Vec<u8>> {
            self.0.set(self.0.get() + 1);
            self.1.set(iterations);
            HostHasher.pbkdf2_sha256(p, salt, iterations.min(2)).await
        }
    }

    /// The `PASSWORD_ITERATIONS` of these tests' sign-ins.
    const SETTING: u32 = 20_000;

    #[derive(Debug)]
    enum SignIn {
        Welcome,
        Wrong,
        Wait(u64),
    }

    struct World {
        throttles: MemoryObjects<ThrottleMachine>,
        users: MemoryStore<UserRecord>,
        hasher: CountingHasher,
    }

    impl World {
        /// Alice's password hashed under the current setting.
        fn new() -> Self {
            Self::with_alice_hashed_at(SETTING)
        }

        fn with_alice_hashed_at(iterations: u32) -> Self {
            let w = World {
                throttles: MemoryObjects::default(),
                users: MemoryStore::default(),
                hasher: CountingHasher::default(),
            };
            let mut alice = user();
            alice.password = Some(block_on(hash_password(&w.hasher, "correct horse", [1; 16], iterations)).unwrap());
            block_on(w.users.put(&alice)).unwrap();
            w.hasher.0.set(0);
            w
        }

        fn try_as(&self, username: &str, password: &str, address: &str, now: u64) -> SignIn {
            let stores = SignInStores {
                throttles: &self.throttles,
                users: &self.users,
                hasher: &self.hasher,
                iterations: SETTING,
            };
            let attempt = Attempt {
                username,
                password,
                address,
            };
            if let Some(retry_after) = block_on(admit(&stores, &attempt, now)).unwrap() {
                return SignIn::Wait(retry_after);
            }
            match block_on(check(&stores, &attempt, now)).unwrap() {
                Some(_) => SignIn::Welcome,
                None => SignIn::Wrong,
            }
        }

        fn account(&self, username: &str) -> Option<Attempts> {
            self.throttles.state(&account_key(username, secret_hash))
        }
    }

    #[test]
    fn five_failures_then_a_wait_without_password_work_then_the_owner_gets_in() {
        let w = World::new();
        for _ in 0..5 {
            assert!(matches!(w.try_as("alice", "guess", "198.51.100.1", 100), SignIn::Wrong));
        }
        assert_eq!(w.hasher.0.get(), 5);
        assert!(matches!(
            w.try_as("alice", "correct horse", "198.51.100.1", 100),
            SignIn::Wait(2)
        ));
        assert_eq!(w.hasher.0.get(), 5, "a refused attempt runs no PBKDF2");
        // After the wait the right password works, and the count starts over.
        assert!(matches!(
            w.try_as("alice", "correct horse", "198.51.100.1", 102),
            SignIn::Welcome
        ));
        assert_eq!(w.account("alice").unwrap().failures, 0);
    }

    #[test]
    fn no_password_opens_a_passkey_only_account_and_it_costs_the_same() {
        let w = World::new();
        let mut bob = user();
        bob.username = "bob".into();
        bob.password = None;
        block_on(w.users.put(&bob)).unwrap();
        // The dummy hash's own password does not open it either.
        for password in ["correct horse", ""] {
            assert!(matches!(w.try_as("bob", password, "198.51.100.1", 100), SignIn::Wrong));
        }
        assert_eq!(w.hasher.0.get(), 2, "as much password work as for any account");
    }

    #[test]
    fn unknown_usernames_are_throttled_exactly_like_known_ones() {
        let w = World::new();
        for name in ["alice", "nobody"] {
            let replies: Vec<_> = (0..7)
                .map(|_| matches!(w.try_as(name, "guess", name, 100), SignIn::Wait(_)))
                .collect();
            assert_eq!(replies, [false, false, false, false, false, true, true], "{name}");
        }
        assert_eq!(w.account("alice"), w.account("nobody"));
        assert_eq!(w.hasher.0.get(), 10, "the same password work for both");
    }

    #[test]
    fn one_address_cannot_spray_many_accounts() {
        let w = World::new();
        for n in 0..PER_ADDRESS.free {
            assert!(matches!(
                w.try_as(&format!("user{n}"), "guess", "203.0.113.9", 100),
                SignIn::Wrong
            ));
        }
        assert!(matches!(
            w.try_as("alice", "correct horse", "203.0.113.9", 100),
            SignIn::Wait(2)
        ));
        // The refused attempt did not count against alice's account.
        assert_eq!(w.account("alice"), None);
        // Another address is not held back by this one.
        assert!(matches!(
            w.try_as("alice", "correct horse", "192.0.2.1", 100),
            SignIn::Welcome
        ));
    }

    #[test]
    fn a_hash_from_another_setting_signs_in_and_unknown_names_cost_the_setting() {
        for kept in [100_000, 10_000] {
            let w = World::with_alice_hashed_at(kept);
            assert!(matches!(
                w.try_as("alice", "correct horse", "192.0.2.1", 100),
                SignIn::Welcome
            ));
            assert_eq!(w.hasher.1.get(), kept, "checked with the count it was stored with");
            assert!(matches!(
                w.try_as("nobody", "correct horse", "192.0.2.1", 100),
                SignIn::Wrong
            ));
            assert_eq!(w.hasher.1.get(), SETTING, "an unknown name costs what a new hash does");
        }
    }
}
