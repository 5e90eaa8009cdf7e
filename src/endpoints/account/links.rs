//! `POST /account/links`: the upstream providers that sign in to the
//! account. `action=link` goes to the provider (`idp`) to sign in there,
//! and its identity is linked when the person comes back; `action=unlink`
//! removes a link, unless it is the account's last way in.

use super::{done, refuse, Done};
use crate::endpoints::browser::Browser;
use crate::endpoints::federation::{self, Resume};
use crate::endpoints::http::Reply;
use crate::endpoints::Ctx;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::params::Params;
use crate::protocol::user::UserRecord;

pub async fn post(params: &Params, ctx: &Ctx, browser: &mut Browser, user: UserRecord) -> Reply {
    let idp = params.get("idp").unwrap_or_default();
    match params.get("action") {
        Some("link") => {
            let resume = Resume::Link { sub: user.sub.clone() };
            match federation::start_from_form(ctx, browser, idp, &resume, None).await? {
                Ok(away) => Ok(away),
                Err(alert) => refuse(ctx, browser, &alert, 400).await,
            }
        }
        Some("unlink") if federation::unlink(ctx, user, idp).await? => done(browser, Done::Unlinked),
        Some("unlink") => {
            let alert = "This is the only way you can sign in: add a passkey or set a password first.";
            refuse(ctx, browser, alert, 400).await
        }
        _ => Err(invalid_request("This form does not say whether to link or unlink.")),
    }
}

/// The page's rows: every enabled provider, linked or not, and any
/// provider still linked that has since been disabled or removed (so it
/// can be unlinked): id, name, when linked.
pub async fn rows(ctx: &Ctx, user: &UserRecord) -> OAuthResult<Vec<(String, String, Option<u64>)>> {
    let set = federation::providers(ctx).await?;
    let linked_at = |id: &str| user.links.iter().find(|l| l.idp == id).map(|l| l.linked_at);
    let mut rows: Vec<(String, String, Option<u64>)> = set
        .providers
        .iter()
        .filter(|p| p.enabled || linked_at(&p.id).is_some())
        .map(|p| (p.id.clone(), p.name.clone(), linked_at(&p.id)))
        .collect();
    for link in &user.links {
        if !rows.iter().any(|r| r.0 == link.idp) {
            rows.push((link.idp.clone(), link.idp.clone(), Some(link.linked_at)));
        }
    }
    Ok(rows)
}
