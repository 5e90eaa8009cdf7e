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
    stores: &PasskeyStores<'_>,
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
    Ok(match stores.passkeys.apply(owner.sub, op, now).await? {
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
    let Some(sub) = assertion.user_handle.as_deref().and_then(|h| std::str::from_utf8(h).ok()) else {
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
