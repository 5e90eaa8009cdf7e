//! The apps the person has allowed (their remembered consents,
//! `consent:<sub>:<client_id>` in KV), and `POST /account/consents`:
//! withdrawing one. Withdrawing forgets the consent and revokes every
//! grant the person gave that client until now (`UserRevocation`'s entry
//! for it): its refresh tokens and unredeemed codes answer
//! `invalid_grant`, its access tokens are refused by `/userinfo` and
//! introspect inactive. Other clients' grants stand.

use super::{done, refuse, Done};
use crate::endpoints::authorize::display_name;
use crate::endpoints::browser::Browser;
use crate::endpoints::http::Reply;
use crate::endpoints::user_changes::withdraw_consent;
use crate::endpoints::Ctx;
use crate::protocol::authorize::scope_descriptions;
use crate::protocol::client_document::{document_host, is_document_url};
use crate::protocol::error::OAuthResult;
use crate::protocol::params::Params;
use crate::protocol::session::ConsentRecord;
use crate::protocol::user::UserRecord;
use crate::store::find;
use crate::ui::ConsentView;

/// The most apps the page lists (each costs a KV read).
const SHOWN: usize = 50;

/// The apps `sub` has allowed, in the order of their ids, and whether
/// there are more than are listed.
pub async fn list(ctx: &Ctx, sub: &str) -> OAuthResult<(Vec<ConsentView>, bool)> {
    let (consents, more) = find::<ConsentRecord>(&ctx.records()?, &ConsentRecord::keys_of(sub), SHOWN).await?;
    let mut views = Vec::with_capacity(consents.len());
    for c in consents {
        let client_id = c.client_id().to_owned();
        let name = match c.client_name {
            Some(name) => name,
            // Consents given before names were kept: a registered client's
            // name (never a document fetched for this), else its id.
            None if !is_document_url(&client_id) => match ctx.existing_client(&client_id).await? {
                Some(client) => display_name(&client).to_owned(),
                None => client_id.clone(),
            },
            None => client_id.clone(),
        };
        views.push(ConsentView {
            host: document_host(&client_id),
            scopes: scope_descriptions(&c.scopes)
                .into_iter()
                .map(|(_, words)| words)
                .collect(),
            granted_at: c.granted_at,
            name,
            client_id,
        });
    }
    Ok((views, more))
}

/// Withdraws the consent to the posted `client_id` (`withdraw_consent`).
pub async fn withdraw(params: &Params, ctx: &Ctx, browser: &mut Browser, user: &UserRecord) -> Reply {
    let client_id = params.get("client_id").unwrap_or_default();
    if !withdraw_consent(ctx, &user.sub, client_id).await? {
        return refuse(ctx, browser, "That app does not have your consent (any more).", 400).await;
    }
    done(browser, Done::Withdrawn)
}
