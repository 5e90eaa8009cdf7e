//! Passkey ceremonies over the stores: registering a credential to an
//! account, and signing in with one. `protocol::webauthn` checks what the
//! browser sent; the signature is verified by the platform (WebCrypto);
//! the account's passkey object (`protocol::passkey`) holds the
//! credentials and moves the sign counter in one step.

use crate::protocol::error::OAuthResult;
use crate::protocol::passkey::{Passkey, PasskeyMachine, PasskeyOp, PasskeyReply};
use crate::protocol::webauthn::{check_assertion, signature_for_webcrypto, Expected, NewCredential, WebAuthnError};
use crate::store::{ObjectStore, SignatureVerifier};

/// What passkey ceremonies need from the platform.
pub struct PasskeyStores<'a> {
    pub passkeys: &'a dyn ObjectStore<PasskeyMachine>,
    pub verifier: &'a dyn SignatureVerifier,
}

/// The account a passkey is registered to.
pub struct Owner<'a> {
    pub sub: &'a str,
    pub username: &'a str,
}

/// Why a ceremony was refused: each says what the person can do about it.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// What the browser sent does not verify.
    Invalid(WebAuthnError),
    /// No account has this credential (or it was removed).
    Unknown,
    /// The signature is not the credential's.
    BadSignature,
    /// The counter went back or the BE flag changed: possibly a cloned key.
    Suspicious,
    /// Registered to this account already.
    Duplicate,
    /// The account has as many passkeys as it may.
    Full,
}

impl Refused {
    /// The message for the page. Deliberately short on detail where detail
    /// would only help someone probing.
    pub fn message(&self) -> &'static str {
        match self {
            Refused::Invalid(_) | Refused::BadSignature => "That passkey could not be verified. Try again.",
            Refused::Unknown => "This passkey is not registered with any account here.",
            Refused::Suspicious => "This passkey was refused: it may have been copied. Use another way to sign in.",
            Refused::Duplicate => "This passkey is registered to your account already.",
            Refused::Full => "Your account has as many passkeys as it may have. Remove one first.",
        }
    }
}

impl From<WebAuthnError> for Refused {
    fn from(e: WebAuthnError) -> Self {
        Refused::Invalid(e)
    }
}

/// Adds a verified registration's credential (`protocol::webauthn::
/// verify_registration`) to `owner`'s passkeys under `name`.
pub async fn register(
    passkeys: &dyn ObjectStore<PasskeyMachine>,
    new: NewCredential,
    owner: &Owner<'_>,
    name: String,
    now: u64,
) -> OAuthResult<Result<Passkey, Refused>> {
    let passkey = Passkey {
        id: new.id,
        public_key: new.public_key,
        sign_count: new.sign_count,
        backup_eligible: new.backup_eligible,
        transports: new.transports,
        name,
        created_at: now,
        last_used_at: None,
    };
    let op = PasskeyOp::Add {
        username: owner.username.to_owned(),
        passkey: passkey.clone(),
    };
    Ok(match passkeys.apply(owner.sub, op, now).await? {
        PasskeyReply::Added => Ok(passkey),
        PasskeyReply::Duplicate => Err(Refused::Duplicate),
        _ => Err(Refused::Full),
    })
}

/// Who a verified assertion signed in.
#[derive(Debug)]
pub struct SignedIn {
    pub sub: String,
    pub username: String,
    pub passkey: Passkey,
}

/// Verifies an assertion (`response`: AuthenticationResponseJSON) of a
/// discoverable credential: its user handle names the account (its `sub`),
/// whose passkey object must hold the credential; the signature must be
/// that credential's, and its counter must move forward.
pub async fn authenticate(
    stores: &PasskeyStores<'_>,
    expected: &Expected,
    response: &str,
    now: u64,
) -> OAuthResult<Result<SignedIn, Refused>> {
    let assertion = match check_assertion(expected, response) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.into())),
    };
    let Some(sub) = assertion
        .user_handle
        .as_deref()
        .and_then(|h| std::str::from_utf8(h).ok())
    else {
        return Ok(Err(Refused::Unknown));
    };
    let get = PasskeyOp::Get {
        id: assertion.credential_id.clone(),
    };
    let PasskeyReply::Found { username, passkey } = stores.passkeys.apply(sub, get, now).await? else {
        return Ok(Err(Refused::Unknown));
    };
    let Ok(signature) = signature_for_webcrypto(passkey.public_key.alg, &assertion.signature) else {
        return Ok(Err(Refused::BadSignature));
    };
    if !stores
        .verifier
        .verify(&passkey.public_key, &assertion.signed_data, &signature)
        .await?
    {
        return Ok(Err(Refused::BadSignature));
    }
    let used = PasskeyOp::Used {
        id: passkey.id.clone(),
        sign_count: assertion.sign_count,
        backup_eligible: assertion.backup_eligible,
    };
    Ok(match stores.passkeys.apply(sub, used, now).await? {
        PasskeyReply::Done => Ok(SignedIn {
            sub: sub.to_owned(),
            username,
            passkey,
        }),
        PasskeyReply::Missing => Err(Refused::Unknown),
        _ => Err(Refused::Suspicious),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::encoding::b64url_decode;
    use crate::protocol::webauthn::verify_registration;
    use crate::store::host_crypto::HostVerifier;
    use crate::store::memory::MemoryObjects;
    use futures::executor::block_on;
    use serde_json::Value;

    /// Chromium's virtual authenticator, recorded (tests/fixtures/webauthn).
    const ES256: &str = include_str!("../../tests/fixtures/webauthn/es256.json");
    const EDDSA: &str = include_str!("../../tests/fixtures/webauthn/eddsa.json");

    struct Recorded {
        fixture: Value,
        sub: String,
    }

    impl Recorded {
        fn new(json: &str) -> Self {
            let fixture: Value = serde_json::from_str(json).unwrap();
            let handle = b64url_decode(fixture["user_handle"].as_str().unwrap()).unwrap();
            Recorded {
                sub: String::from_utf8(handle).unwrap(),
                fixture,
            }
        }

        fn expected(&self, ceremony: &Value) -> Expected {
            Expected {
                rp_id: self.fixture["rp_id"].as_str().unwrap().into(),
                origin: self.fixture["origin"].as_str().unwrap().into(),
                challenge: b64url_decode(ceremony["challenge"].as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap(),
            }
        }

        fn registration(&self) -> NewCredential {
            let r = &self.fixture["registration"];
            verify_registration(&self.expected(r), &r["response"].to_string()).unwrap()
        }

        fn assertion(&self, n: usize) -> (Expected, String) {
            let a = &self.fixture["assertions"][n];
            (self.expected(a), a["response"].to_string())
        }
    }

    struct World {
        objects: MemoryObjects<PasskeyMachine>,
    }

    impl World {
        fn stores(&self) -> PasskeyStores<'_> {
            PasskeyStores {
                passkeys: &self.objects,
                verifier: &HostVerifier,
            }
        }

        fn register(&self, r: &Recorded, sub: &str) -> Result<Passkey, Refused> {
            let owner = Owner { sub, username: "ada" };
            block_on(register(&self.objects, r.registration(), &owner, "Phone".into(), 100)).unwrap()
        }

        fn sign_in(&self, expected: &Expected, response: &str) -> Result<SignedIn, Refused> {
            block_on(authenticate(&self.stores(), expected, response, 200)).unwrap()
        }
    }

    fn world() -> World {
        World {
            objects: MemoryObjects::default(),
        }
    }

    #[test]
    fn a_registered_passkey_signs_its_account_in_and_its_counter_moves() {
        for json in [ES256, EDDSA] {
            let (w, r) = (world(), Recorded::new(json));
            let added = w.register(&r, &r.sub).unwrap();
            assert_eq!(w.register(&r, &r.sub), Err(Refused::Duplicate));
            for n in 0..2 {
                let (expected, response) = r.assertion(n);
                let signed_in = w.sign_in(&expected, &response).unwrap();
                assert_eq!(
                    (signed_in.sub.as_str(), signed_in.username.as_str()),
                    (r.sub.as_str(), "ada")
                );
                assert_eq!(signed_in.passkey.id, added.id);
            }
            let stored = &w.objects.state(&r.sub).unwrap().credentials[0];
            assert_eq!(stored.last_used_at, Some(200));
        }
    }

    #[test]
    fn a_replayed_assertion_is_refused_by_its_counter() {
        let (w, r) = (world(), Recorded::new(ES256));
        w.register(&r, &r.sub).unwrap();
        let (expected, response) = r.assertion(1);
        w.sign_in(&expected, &response).unwrap();
        // Its challenge would be refused first (forms are single-use); with
        // the same challenge, the counter that did not move refuses it.
        assert_eq!(w.sign_in(&expected, &response).err(), Some(Refused::Suspicious));
        // An older assertion, counter lower still.
        let (expected, response) = r.assertion(0);
        assert_eq!(w.sign_in(&expected, &response).err(), Some(Refused::Suspicious));
    }

    #[test]
    fn a_credential_of_another_account_or_removed_signs_nobody_in() {
        let (w, r) = (world(), Recorded::new(ES256));
        // Registered to another account: the user handle names one that has it not.
        let added = w.register(&r, "someone-else").unwrap();
        let (expected, response) = r.assertion(0);
        assert_eq!(w.sign_in(&expected, &response).err(), Some(Refused::Unknown));
        // Registered to the account, then removed.
        w.register(&r, &r.sub).unwrap();
        let remove = PasskeyOp::Remove {
            id: added.id,
            keep_one: false,
        };
        block_on(w.objects.apply(&r.sub, remove, 150)).unwrap();
        assert_eq!(w.sign_in(&expected, &response).err(), Some(Refused::Unknown));
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let (w, es, ed) = (world(), Recorded::new(ES256), Recorded::new(EDDSA));
        // The ES256 credential's id, stored with the EdDSA credential's key.
        let mut new = es.registration();
        new.public_key = ed.registration().public_key;
        let owner = Owner {
            sub: &es.sub,
            username: "ada",
        };
        block_on(register(&w.objects, new, &owner, "x".into(), 100))
            .unwrap()
            .unwrap();
        let (expected, response) = es.assertion(0);
        assert_eq!(w.sign_in(&expected, &response).err(), Some(Refused::BadSignature));
        assert_eq!(w.objects.state(&es.sub).unwrap().credentials[0].last_used_at, None);
    }

    #[test]
    fn a_ceremony_for_another_challenge_is_refused_before_any_lookup() {
        let (w, r) = (world(), Recorded::new(ES256));
        w.register(&r, &r.sub).unwrap();
        let (mut expected, response) = r.assertion(0);
        expected.challenge[0] ^= 1;
        assert!(matches!(w.sign_in(&expected, &response), Err(Refused::Invalid(_))));
    }
}
