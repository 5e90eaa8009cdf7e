//! `POST /account/password`: the person changes their password, or sets
//! one on a passkey-only account. The current one, if the account has
//! one, is required, checked behind the sign-in throttles; the new one
//! follows the admin API's rules (`validate_password`) and is hashed as
//! the admin API hashes it (`PASSWORD_ITERATIONS`). The user's
//! `session_epoch` moves on, which ends every other session; this browser
//! gets a new session under the new epoch and stays signed in.

use super::{done, refuse, Done};
use crate::endpoints::browser::Browser;
use crate::endpoints::http::Reply;
use crate::endpoints::sign_in::{confirm_password, renew_session};
use crate::endpoints::user_changes::update_user;
use crate::endpoints::Ctx;
use crate::protocol::params::Params;
use crate::protocol::user::{validate_password, UserRecord, UserUpdate};

pub async fn post(params: &Params, ctx: &Ctx, browser: &mut Browser, user: UserRecord) -> Reply {
    let current = params.get("current_password").unwrap_or_default();
    let new = params.get("new_password").unwrap_or_default();
    // What cannot succeed is refused before any password work.
    if validate_password(new).is_err() {
        return refuse(ctx, browser, "The new password must be 8 to 1024 characters long.", 400).await;
    }
    if params.get("confirm_password") != Some(new) {
        return refuse(ctx, browser, "The new password and its confirmation differ.", 400).await;
    }
    if user.password.is_some() {
        if let Some(again) = confirm_password(ctx, browser, &user, current).await? {
            let resp = refuse(ctx, browser, &again.alert, again.status).await?;
            return again.finish(resp);
        }
    }
    let update = UserUpdate {
        password: Some(new.to_owned()),
        ..UserUpdate::default()
    };
    let user = update_user(ctx, None, user, update).await?;
    renew_session(ctx, browser, user).await?;
    done(browser, Done::Password)
}
