//! Login sessions in KV: the record (`session:<sha256(sid)>`) and its entry
//! in its user's list (`user_session:<sub>:<sha256(sid)>`, a
//! [`UserSession`]), written together where a session begins
//! (`sign_in::begin`) and deleted together where one ends (sign-out,
//! RP-initiated logout, a new sign-in in the same browser, the console's
//! "End").

use super::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::session::{SessionRecord, UserSession};
use crate::protocol::user::UserRecord;
use crate::store::{find, RecordStore};

/// The most sessions of one user the console lists (each costs a KV read).
const SHOWN: usize = 50;

/// Stores a session that begins, and its entry in its user's list.
pub async fn save(ctx: &Ctx, session: &SessionRecord) -> OAuthResult<()> {
    let store = ctx.records()?;
    store.put(session).await?;
    store.put(&UserSession::of(session)).await?;
    Ok(())
}

/// Forgets the session `session_key` of `sub`: its record and its entry.
pub async fn forget(ctx: &Ctx, sub: &str, session_key: &str) -> OAuthResult<()> {
    let store = ctx.records()?;
    RecordStore::<SessionRecord>::delete(&store, session_key).await?;
    RecordStore::<UserSession>::delete(&store, &UserSession::key_for(sub, session_key)).await?;
    Ok(())
}

/// The sessions that still sign `user` in, in the order of their keys, and
/// whether there may be more than are listed. Entries of sessions ended by
/// a new `session_epoch`, or expired but not yet forgotten by KV, are left
/// out.
pub async fn of_user(ctx: &Ctx, user: &UserRecord) -> OAuthResult<(Vec<UserSession>, bool)> {
    let (mut found, more) = find::<UserSession>(&ctx.records()?, &UserSession::keys_of(&user.sub), SHOWN).await?;
    found.retain(|s| s.live(user, ctx.now));
    Ok((found, more))
}

/// Ends one session of `user` (the console's "End"). `false`: it is not
/// one of theirs that still signs in; nothing was changed.
pub async fn end_one(ctx: &Ctx, user: &UserRecord, session_key: &str) -> OAuthResult<bool> {
    let entry: Option<UserSession> = ctx
        .records()?
        .get(&UserSession::key_for(&user.sub, session_key))
        .await?;
    if !entry.is_some_and(|e| e.live(user, ctx.now)) {
        return Ok(false);
    }
    forget(ctx, &user.sub, session_key).await?;
    Ok(true)
}
