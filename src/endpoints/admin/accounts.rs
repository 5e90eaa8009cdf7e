//! `/admin/accounts`: the console's Users section (its path keeps clear of
//! the JSON API's `/admin/users`). `GET /admin/accounts` lists the users
//! (`?q=` searches username, name and e-mail address; `?cursor=` pages),
//! `/admin/accounts/new` creates one, `/admin/accounts/{username}` shows
//! one: details, claims, role, sessions, the apps allowed. Its posts go to
//! sub-paths of it (see `actions`), each with a form of its own purpose;
//! what they change, the JSON API changes through the same functions
//! (`user_changes`).

mod actions;
mod destructive;

use super::{not_allowed, not_found, Admin, ConsolePage, Fields};
use crate::endpoints::account::consents;
use crate::endpoints::http::{html, Reply};
use crate::endpoints::sessions;
use crate::endpoints::Ctx;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::Params;
use crate::protocol::session::UserSession;
use crate::protocol::user::UserRecord;
use crate::protocol::user_form::FieldErrors;
use crate::store::listing;
use crate::store::RecordStore;
use crate::ui::admin::Notice;
use crate::ui::admin_accounts::{
    done_words, new_user_page, split_user_path, user_page, user_path, users_page, ClaimValues, ClaimsForm, Field,
    NewUserView, SessionRow, UserList, UserRow, UserView,
};
use crate::ui::{date, date_time, ConsentRow};

/// The section's name in the console's navigation (`ui::admin::SECTIONS`).
const SECTION: &str = "users";

/// What each of the section's forms is sealed for: a form for one action
/// cannot be posted to another.
mod purpose {
    pub const CREATE: &str = "admin:users:create";
    pub const CLAIMS: &str = "admin:users:claims";
    pub const PASSWORD: &str = "admin:users:password";
    pub const ROLE: &str = "admin:users:admin";
    pub const SESSION: &str = "admin:users:session";
    pub const SESSIONS: &str = "admin:users:sessions";
    pub const CONSENT: &str = "admin:users:consent";
    pub const GRANTS: &str = "admin:users:grants";
    pub const ENROLLMENT: &str = "admin:users:enrollment";
    pub const DELETE: &str = "admin:users:delete";
}

/// Said when a posted form is refused.
const REFUSED: &str = "This form has expired, was already sent, or did not come from this page. \
                       Nothing was changed; try again below.";

fn notice(params: &Params) -> Option<Notice<'static>> {
    params.get("done").and_then(done_words).map(Notice::Done)
}

/// Every path under `/admin/accounts`; `rest` is what follows it.
pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, rest: &str) -> Reply {
    let params = &page.params;
    match (rest, page.post) {
        ("", false) => list(ctx, admin, params).await,
        ("/new", false) => new_form(ctx, admin, params, &FieldErrors::default(), None, 200).await,
        ("/new", true) => actions::create(ctx, admin, params).await,
        ("", true) => Err(not_allowed()),
        _ => {
            let (username, action) = split_user_path(rest).ok_or_else(not_found)?;
            let user: Option<UserRecord> = ctx.records()?.get(&username).await?;
            let user = user.ok_or_else(|| OAuthError::new(ErrorCode::NotFound, "There is no such user."))?;
            if action.is_empty() && !page.post {
                return view(ctx, admin, &user, notice(params), None, 200).await;
            }
            actions::handle(ctx, admin, page, user, action).await
        }
    }
}

async fn list(ctx: &Ctx, admin: &mut Admin, params: &Params) -> Reply {
    let query = params.get("q").unwrap_or_default();
    let store = ctx.records()?;
    let found = listing::page::<UserRecord>(&store, query, params.get("cursor"))
        .await?
        .ok_or_else(|| invalid_request("This list's position is not one of ours: start again from the first page."))?;
    let label = |labels: &serde_json::Value, name: &str| labels.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let rows: Vec<UserRow> = found
        .rows
        .iter()
        .map(|(username, labels)| UserRow {
            username: username.clone(),
            path: user_path(username),
            name: label(labels, "name"),
            email: label(labels, "email"),
        })
        .collect();
    let view = UserList {
        rows: &rows,
        query,
        query_encoded: super::encode(query),
        next: found.next.as_deref(),
    };
    let sign_out = admin.sign_out_form(ctx).await?;
    let page = users_page(admin.shell(SECTION, &sign_out, notice(params)), &view);
    html(200, page, &admin.browser.cookies)
}

/// The new-user form, with what was typed (`params`) and its errors.
async fn new_form(
    ctx: &Ctx,
    admin: &mut Admin,
    params: &Params,
    errors: &FieldErrors,
    alert: Option<&str>,
    status: u16,
) -> Reply {
    let fields = admin.form(ctx, purpose::CREATE, "").await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let values = ClaimValues::posted(|n| params.get(n));
    let view = NewUserView {
        form: fields.context("/admin/accounts/new"),
        username: Field::username(params.get("username").unwrap_or_default(), errors),
        password: Field::password(false, errors.get("password")),
        claims: ClaimsForm {
            values: &values,
            errors,
        },
    };
    let page = new_user_page(admin.shell(SECTION, &sign_out, alert.map(Notice::Failed)), &view);
    html(status, page, &admin.browser.cookies)
}

/// The claims form as it was posted, and what was wrong with it.
pub struct PostedClaims<'a> {
    pub params: &'a Params,
    pub errors: &'a FieldErrors,
}

/// `user`'s page, with `notice` at the top; the claims form shows what is
/// stored, or what was posted (`posted`) with its errors.
async fn view(
    ctx: &Ctx,
    admin: &mut Admin,
    user: &UserRecord,
    notice: Option<Notice<'_>>,
    posted: Option<PostedClaims<'_>>,
    status: u16,
) -> Reply {
    let name = &user.username;
    let base = user_path(name);
    let paths = [
        format!("{base}/claims"),
        format!("{base}/sessions"),
        format!("{base}/grants"),
        format!("{base}/enrollment"),
    ];
    let (live, more_sessions) = sessions::of_user(ctx, user).await?;
    let (apps, more_grants) = consents::list(ctx, &user.sub).await?;
    // Every form of the page, each its own single-use handle: the page's
    // own four, then an "End" per session and a "Revoke" per app.
    let mut purposes = vec![purpose::CLAIMS, purpose::SESSIONS, purpose::GRANTS, purpose::ENROLLMENT];
    purposes.extend(live.iter().map(|_| purpose::SESSION));
    purposes.extend(apps.iter().map(|_| purpose::CONSENT));
    let fields = forms(ctx, admin, &purposes, name).await?;
    let [claims_fields, end_all, revoke_all, enrollment] = [0, 1, 2, 3].map(|i| &fields[i]);
    let (session_fields, grant_fields) = fields[4..].split_at(live.len());
    let sign_out = admin.sign_out_form(ctx).await?;
    let session_rows = session_rows(&live, session_fields, &paths[1]);
    let grant_rows: Vec<ConsentRow> = apps
        .iter()
        .zip(grant_fields)
        .map(|(consent, f)| ConsentRow {
            consent,
            withdraw: f.context(&paths[2]),
        })
        .collect();
    let no_errors = FieldErrors::default();
    let (values, errors) = match &posted {
        Some(p) => (ClaimValues::posted(|n| p.params.get(n)), p.errors),
        None => (ClaimValues::of(&user.claims), &no_errors),
    };
    let page = UserView {
        username: name,
        path: &base,
        sub: &user.sub,
        created: date(user.created_at),
        updated: date_time(user.updated_at),
        has_password: user.password.is_some(),
        admin: user.admin,
        own: user.sub == admin.user.sub,
        links: user.links.iter().map(|l| l.idp.as_str()).collect(),
        claims_form: claims_fields.context(&paths[0]),
        claims: ClaimsForm {
            values: &values,
            errors,
        },
        sessions: &session_rows,
        more_sessions,
        end_all: end_all.context(&paths[1]),
        grants: &grant_rows,
        more_grants,
        revoke_all: revoke_all.context(&paths[2]),
        enrollment: enrollment.context(&paths[3]),
    };
    let page = user_page(admin.shell(SECTION, &sign_out, notice), &page);
    html(status, page, &admin.browser.cookies)
}

/// The sessions as the page lists them, each with its "End" form.
fn session_rows<'a>(live: &'a [UserSession], fields: &'a [Fields], action: &'a str) -> Vec<SessionRow<'a>> {
    live.iter()
        .zip(fields)
        .map(|(s, f)| SessionRow {
            key: s.session_key(),
            signed_in: date_time(s.auth_time),
            how: SessionRow::how(&s.amr, s.idp.as_deref()),
            ends: date_time(s.expires_at),
            end: f.context(action),
        })
        .collect()
}

/// A form for each of `purposes` on `target`, each its own single-use handle.
async fn forms(ctx: &Ctx, admin: &mut Admin, purposes: &[&'static str], target: &str) -> OAuthResult<Vec<Fields>> {
    let mut each = Vec::with_capacity(purposes.len());
    for purpose in purposes {
        each.push(admin.form(ctx, purpose, target).await?);
    }
    Ok(each)
}
