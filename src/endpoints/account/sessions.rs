//! `POST /account/sessions`: sign out everywhere. The user's
//! `session_epoch` moves on, which ends every session they have, in every
//! browser, this one included; the signed-out page follows. What apps were
//! given (their tokens) stands: that is withdrawn per app.

use crate::endpoints::browser::{end_session, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::user_changes::end_sessions;
use crate::endpoints::Ctx;
use crate::protocol::user::UserRecord;
use crate::ui::logged_out_page;

pub async fn end_all(ctx: &Ctx, browser: &mut Browser, user: UserRecord) -> Reply {
    end_sessions(ctx, user).await?;
    end_session(ctx, browser).await?;
    html(200, logged_out_page(), &browser.cookies)
}
