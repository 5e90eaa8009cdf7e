//! Signing a person in from a posted sign-in form, for every page that has
//! one (`/authorize`'s login step, `/account/login`): the form is opened by
//! the page (which may refuse it first for reasons of its own), then one
//! sign-in method runs on it, chosen by the form's `step` ([`method`]:
//! `login`, a password; `passkey`, a passkey), and the page answers the
//! [`SignIn`] it gets. Sessions begin here too.

use super::account::passkeys::{expected, passkey_objects};
use super::browser::{form_fields, secure, use_form, Browser, SESSION_COOKIE};
use super::http::{html, Reply};
use super::Ctx;
use crate::grants::passkey::{authenticate, PasskeyStores, Refused};
use crate::grants::sign_in::{admit, check, Attempt, SignInStores};
use crate::protocol::acr::password_amr;
use crate::protocol::cookie::set_cookie;
use crate::protocol::encoding::b64url;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::handle::sealed_id;
use crate::protocol::handle::Opened;
use crate::protocol::params::Params;
use crate::protocol::session::SessionRecord;
use crate::protocol::throttle::ThrottleMachine;
use crate::protocol::user::{validate_username, UserRecord};
use crate::random;
use crate::store::durable::DurableObjects;
use crate::store::kv::KvRecords;
use crate::store::webcrypto::WebCryptoHasher;
use crate::store::webcrypto::WebCryptoVerifier;
use crate::store::RecordStore;
use crate::ui::{login_page, FormContext, LoginView, PasskeyRequest};
use std::borrow::Cow;
use worker::Response;

/// Deliberately vague: the page must not tell which part was wrong.
const WRONG: &str = "Incorrect username or password.";

/// What a sign-in attempt on a form came to; `T` is the form's sealed data.
pub enum SignIn<T> {
    /// Signed in: the session has begun (its cookie is among the browser's).
    Done(T),
    /// Not signed in: show the form again, saying why.
    Again(T, Again),
    /// The form was used before: nothing was checked.
    Stale,
}

/// The credentials of a sign-in form, checked (the form used up), before
/// any session begins: [`method`] begins a person's session, the admin
/// console one of its own.
pub enum Checked<T> {
    /// The account, and how it signed in (RFC 8176 `amr`).
    Verified(T, UserRecord, Vec<String>),
    Again(T, Again),
    Stale,
}

/// Why a sign-in form is shown again: its status, its alert, and for a
/// throttled attempt how long to wait.
pub struct Again {
    pub status: u16,
    pub alert: Cow<'static, str>,
    retry_after: Option<u64>,
}

impl Again {
    pub fn new(status: u16, alert: impl Into<Cow<'static, str>>) -> Self {
        Again {
            status,
            alert: alert.into(),
            retry_after: None,
        }
    }

    /// RFC 6585 §4: 429 Too Many Requests, with `Retry-After` (RFC 9110
    /// §10.2.3) once [`Again::finish`] has been applied.
    fn wait(retry_after: u64) -> Self {
        let unit = if retry_after == 1 { "second" } else { "seconds" };
        Again {
            retry_after: Some(retry_after),
            ..Again::new(
                429,
                format!("Too many sign-in attempts. Try again in {retry_after} {unit}."),
            )
        }
    }

    /// The headers the page shown again needs (`Retry-After`).
    pub fn finish(&self, resp: Response) -> Reply {
        if let Some(seconds) = self.retry_after {
            resp.headers().set("retry-after", &seconds.to_string())?;
        }
        Ok(resp)
    }
}

/// What was typed as the username, if it could be one: the page shown
/// again keeps it, so that only the password needs typing again.
pub fn typed_username(params: &Params) -> Option<&str> {
    params.get("username").filter(|u| validate_username(u).is_ok())
}

/// The platform stores of a throttled password check.
struct Throttled {
    throttles: DurableObjects<ThrottleMachine>,
    users: KvRecords,
    iterations: u32,
}

impl Throttled {
    fn bind(ctx: &Ctx) -> OAuthResult<Self> {
        Ok(Throttled {
            throttles: DurableObjects::bind(&ctx.env, "THROTTLES")?,
            users: ctx.records()?,
            iterations: ctx.config.password_iterations,
        })
    }

    fn stores(&self) -> SignInStores<'_> {
        SignInStores {
            throttles: &self.throttles,
            users: &self.users,
            hasher: &WebCryptoHasher,
            iterations: self.iterations,
        }
    }
}

/// Signs in with the method the form's `step` names (`login`: a password,
/// `passkey`: a passkey); `None` for a step that is neither.
pub async fn method<T>(
    form: Opened<T>,
    params: &Params,
    ctx: &Ctx,
    browser: &mut Browser,
) -> OAuthResult<Option<SignIn<T>>> {
    Ok(match verify(form, params, ctx, browser).await? {
        Some(Checked::Verified(data, user, amr)) => {
            start_session(ctx, browser, user, amr).await?;
            Some(SignIn::Done(data))
        }
        Some(Checked::Again(data, again)) => Some(SignIn::Again(data, again)),
        Some(Checked::Stale) => Some(SignIn::Stale),
        None => None,
    })
}

/// Checks the credentials of the method the form's `step` names, as
/// [`method`] does, without beginning a session.
pub async fn verify<T>(
    form: Opened<T>,
    params: &Params,
    ctx: &Ctx,
    browser: &Browser,
) -> OAuthResult<Option<Checked<T>>> {
    Ok(match params.get("step") {
        Some("login") => Some(password(form, params, ctx, browser).await?),
        Some("passkey") => Some(passkey(form, params, ctx).await?),
        _ => None,
    })
}

/// A sign-in page of our own, for no client (the account page's, the
/// admin console's): to `whom` it signs in, a new form posting to `action`
/// sealed for `purpose` with `data`, the upstream `providers`' buttons, and
/// `again`: why it is shown again, if it is.
pub async fn own_page(
    ctx: &Ctx,
    browser: &mut Browser,
    (action, purpose, data): (&str, &str, &impl serde::Serialize),
    whom: &str,
    hint: Option<&str>,
    again: Option<Again>,
    providers: &[(String, String)],
) -> Reply {
    let (handle, csrf) = form_fields(ctx, browser, purpose, data).await?;
    let form = FormContext {
        action,
        handle: &handle,
        csrf: &csrf,
    };
    let body = login_page(&LoginView {
        form: &form,
        client_name: whom,
        login_hint: hint,
        error: again.as_ref().map(|a| a.alert.as_ref()),
        passkey: passkey_request(ctx, &handle),
        passkey_required: false,
        providers,
    });
    let resp = html(again.as_ref().map_or(200, |a| a.status), body, &browser.cookies)?;
    match again {
        Some(a) => a.finish(resp),
        None => Ok(resp),
    }
}

/// The passkey sign-in a page offers with the form `handle` (its challenge
/// comes from the form's id); `None` where the issuer cannot have passkeys.
pub fn passkey_request(ctx: &Ctx, handle: &str) -> Option<PasskeyRequest> {
    let expected = expected(ctx, sealed_id(handle)?)?;
    Some(PasskeyRequest {
        rp_id: expected.rp_id,
        challenge: b64url(&expected.challenge),
    })
}

/// Passkey sign-in (`credential`: an AuthenticationResponseJSON over the
/// challenge of this form). The form is used up first: whatever a second
/// post of it carries, its challenge has been used. A passkey cannot be
/// guessed, so no throttle counts it; each try costs a new form.
async fn passkey<T>(form: Opened<T>, params: &Params, ctx: &Ctx) -> OAuthResult<Checked<T>> {
    let expected = expected(ctx, &form.id);
    let Some(data) = use_form(ctx, form).await? else {
        return Ok(Checked::Stale);
    };
    let Some(expected) = expected else {
        return Ok(Checked::Again(
            data,
            Again::new(400, "Passkeys are not available here."),
        ));
    };
    let objects = passkey_objects(ctx)?;
    let stores = PasskeyStores {
        passkeys: &objects,
        verifier: &WebCryptoVerifier,
    };
    let credential = params.get("credential").unwrap_or_default();
    let signed_in = match authenticate(&stores, &expected, credential, ctx.now).await? {
        Ok(signed_in) => signed_in,
        Err(refused) => return Ok(Checked::Again(data, Again::new(401, refused.message()))),
    };
    // The account must still be the one the passkey was registered to.
    let user: Option<UserRecord> = ctx.records()?.get(&signed_in.username).await?;
    let Some(user) = user.filter(|u| u.sub == signed_in.sub) else {
        return Ok(Checked::Again(data, Again::new(401, Refused::Unknown.message())));
    };
    Ok(Checked::Verified(data, user, signed_in.passkey.amr()))
}

/// Password sign-in (`username`, `password`) on an opened form. The
/// throttles are asked before the form is used up: a refused attempt then
/// costs no more than its two small counts (no single-use record, no
/// PBKDF2), and the same form works after the wait.
async fn password<T>(form: Opened<T>, params: &Params, ctx: &Ctx, browser: &Browser) -> OAuthResult<Checked<T>> {
    let attempt = Attempt {
        username: params.get("username").unwrap_or_default(),
        password: params.get("password").unwrap_or_default(),
        address: &browser.address,
    };
    let throttled = Throttled::bind(ctx)?;
    let stores = throttled.stores();
    if let Some(retry_after) = admit(&stores, &attempt, ctx.now).await? {
        return Ok(Checked::Again(form.data, Again::wait(retry_after)));
    }
    let Some(data) = use_form(ctx, form).await? else {
        return Ok(Checked::Stale);
    };
    let Some(user) = check(&stores, &attempt, ctx.now).await? else {
        return Ok(Checked::Again(data, Again::new(401, WRONG)));
    };
    Ok(Checked::Verified(data, user, password_amr()))
}

/// Checks the password a signed-in person types to confirm a change, behind
/// the same throttles as a sign-in (a stolen session must not become a
/// way to guess the password unthrottled). `None`: it is right.
pub async fn confirm_password(
    ctx: &Ctx,
    browser: &Browser,
    user: &UserRecord,
    password: &str,
) -> OAuthResult<Option<Again>> {
    let attempt = Attempt {
        username: &user.username,
        password,
        address: &browser.address,
    };
    let throttled = Throttled::bind(ctx)?;
    let stores = throttled.stores();
    if let Some(retry_after) = admit(&stores, &attempt, ctx.now).await? {
        return Ok(Some(Again::wait(retry_after)));
    }
    Ok(match check(&stores, &attempt, ctx.now).await? {
        Some(_) => None,
        None => Some(Again::new(401, "The current password is not right.")),
    })
}

/// A fresh session id at every sign-in (no session fixation); the old
/// session, if any, ends. `amr`: how the person signed in (RFC 8176).
pub async fn start_session(ctx: &Ctx, browser: &mut Browser, user: UserRecord, amr: Vec<String>) -> OAuthResult<()> {
    start_federated_session(ctx, browser, user, amr, None).await
}

/// [`start_session`] for a sign-in at the upstream provider `idp`, whose
/// own `amr` (if it sent one) the session keeps.
pub async fn start_federated_session(
    ctx: &Ctx,
    browser: &mut Browser,
    user: UserRecord,
    amr: Vec<String>,
    idp: Option<String>,
) -> OAuthResult<()> {
    let (auth_time, expires_at) = (ctx.now, ctx.now + ctx.config.session_ttl);
    begin(ctx, browser, user, auth_time, expires_at, (amr, idp)).await
}

/// The browser's session again under a new id and `user`'s current
/// `session_epoch` (after a password change, which ends every other
/// session): the same sign-in, so its `auth_time`, `amr` and end stay.
pub async fn renew_session(ctx: &Ctx, browser: &mut Browser, user: UserRecord) -> OAuthResult<()> {
    let Some(old) = browser.session.clone() else {
        return Ok(());
    };
    begin(ctx, browser, user, old.auth_time, old.expires_at, (old.amr, old.idp)).await
}

async fn begin(
    ctx: &Ctx,
    browser: &mut Browser,
    user: UserRecord,
    auth_time: u64,
    expires_at: u64,
    (amr, idp): (Vec<String>, Option<String>),
) -> OAuthResult<()> {
    let store = ctx.records()?;
    if let Some(old) = browser.session.take() {
        RecordStore::<SessionRecord>::delete(&store, &old.key).await?;
    }
    let sid = random::token();
    let session = SessionRecord {
        key: secret_hash(&sid),
        username: user.username.clone(),
        sub: user.sub.clone(),
        auth_time,
        expires_at,
        epoch: user.session_epoch,
        amr,
        idp,
    };
    store.put(&session).await?;
    let max_age = expires_at.saturating_sub(ctx.now);
    browser
        .cookies
        .push(set_cookie(SESSION_COOKIE, &sid, max_age, secure(ctx)));
    browser.session = Some(session);
    browser.user = Some(user);
    Ok(())
}
