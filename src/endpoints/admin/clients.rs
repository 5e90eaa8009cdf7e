//! `/admin/clients`: the console's Clients section. The list (searched by
//! name or id, a page at a time), registering a client, its page with the
//! form that edits it, rotating its secret and deleting it. Registering
//! and editing go through the functions `POST /register` and
//! `PUT /register/{id}` use with the admin token (`register_as_admin`,
//! `register::update`), so the form refuses what the JSON API refuses,
//! in the same words, each next to its field. A secret is shown once, in
//! the answer to the post that made it (no redirect carries it; pages are
//! never stored). Rotating and deleting are asked once more on a page of
//! their own, behind a recent sign-in.

use super::audit;
use super::{encode, not_allowed, not_found, Admin, ConsolePage, Fields};
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::register::{self, register_as_admin, Issued};
use crate::endpoints::Ctx;
use crate::protocol::client::{ClientRecord, Invalid};
use crate::protocol::client_form::ClientForm;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::decode_path_segment;
use crate::protocol::privilege::Manager;
use crate::store::{listing, RecordStore};
use crate::ui::admin::{confirm_page, Confirm, Notice, Shell};
use crate::ui::admin_clients::{
    client_page, client_path, clients_page, done_notice, issued_page, ClientFormView, ClientRow, ClientSummary,
    ClientsView, IssuedView,
};
use crate::ui::Page;
use serde_json::Value;

/// What each form is sealed for: one cannot be posted as another.
const CREATE: &str = "admin:clients:create";
const EDIT: &str = "admin:clients:edit";
const SECRET: &str = "admin:clients:secret";
const DELETE: &str = "admin:clients:delete";

const NEW_PATH: &str = "/admin/clients/new";

/// Why a post was refused without looking at it: on the form's page
/// again, or on a page of its own.
const REFUSED: &str = "This form has expired, was already sent, or did not come from this page. \
                       Nothing was changed; try again below.";
const STALE: &str = "This form has expired, was already sent, or did not come from this page. Nothing was changed.";

pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, rest: &str) -> Reply {
    match (rest, page.post) {
        ("", false) => list(ctx, admin, page).await,
        ("/new", false) => new_client(ctx, admin, &ClientForm::new_client(), &[], None, 200).await,
        ("/new", true) => create(ctx, admin, page).await,
        ("", true) => Err(not_allowed()),
        _ => {
            let rest = rest.strip_prefix('/').unwrap_or(rest);
            let (segment, action) = rest.split_once('/').unwrap_or((rest, ""));
            let id = decode_path_segment(segment).ok_or_else(not_found)?;
            let record = registered(ctx, &id).await?;
            match (action, page.post) {
                ("", false) => view(ctx, admin, &record, page.params.get("done")).await,
                ("", true) => edit(ctx, admin, page, record).await,
                ("secret", false) => confirm_rotation(ctx, admin, &record).await,
                ("secret", true) => rotate(ctx, admin, page, record).await,
                ("delete", false) => confirm_deletion(ctx, admin, &record).await,
                ("delete", true) => delete(ctx, admin, page, &record).await,
                _ => Err(not_found()),
            }
        }
    }
}

/// The client `id` as stored now (not this isolate's cache): a lapsed
/// self-registered one is gone, as the JSON API has it.
async fn registered(ctx: &Ctx, id: &str) -> OAuthResult<ClientRecord> {
    let record: Option<ClientRecord> = ctx.records()?.get(id).await?;
    record.filter(|r| !r.lapsed(ctx.now)).ok_or_else(|| {
        OAuthError::new(
            ErrorCode::NotFound,
            "There is no such client (it may have been deleted).",
        )
    })
}

fn name(record: &ClientRecord) -> &str {
    record.metadata.client_name.as_deref().unwrap_or(&record.client_id)
}

/// A page of the section in the console's layout (its sign-out form, and
/// `notice` at the top).
async fn show(
    ctx: &Ctx,
    admin: &mut Admin,
    status: u16,
    notice: Option<Notice<'_>>,
    page: &dyn Fn(Shell) -> Page,
) -> Reply {
    let sign_out = admin.sign_out_form(ctx).await?;
    let shell = admin.shell("clients", &sign_out, notice);
    html(status, page(shell), &admin.browser.cookies)
}

/// `GET /admin/clients?q=…&cursor=…`.
async fn list(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage) -> Reply {
    let query = page.params.get("q").unwrap_or_default();
    let store = ctx.records()?;
    let listed = listing::page::<ClientRecord>(&store, query, page.params.get("cursor")).await?;
    let listed = listed.ok_or_else(|| invalid_request("This page of the list is not one the console made."))?;
    let rows: Vec<ClientRow> = listed.rows.into_iter().map(row).collect();
    let view = ClientsView {
        rows: &rows,
        query,
        query_encoded: encode(query),
        next: listed.next.as_deref(),
    };
    let notice = done_notice(page.params.get("done"));
    show(ctx, admin, 200, notice, &|shell| clients_page(shell, &view)).await
}

/// A row from a client's labels (`Record::metadata` of `ClientRecord`).
fn row((client_id, labels): (String, Value)) -> ClientRow {
    let text = |name: &str| labels.get(name).and_then(Value::as_str).map(str::to_owned);
    ClientRow {
        name: text("name"),
        method: text("method"),
        created: labels.get("created").and_then(Value::as_u64),
        client_id,
    }
}

/// The new-client form with `form`'s values, `errors` by field, and a
/// `notice` at the top.
async fn new_client(
    ctx: &Ctx,
    admin: &mut Admin,
    form: &ClientForm,
    errors: &[Invalid],
    notice: Option<Notice<'_>>,
    status: u16,
) -> Reply {
    let fields = admin.form(ctx, CREATE, "").await?;
    let view = ClientFormView {
        client: None,
        form,
        errors,
        post: fields.context(NEW_PATH),
    };
    show(ctx, admin, status, notice, &|shell| client_page(shell, &view)).await
}

/// `POST /admin/clients/new`: registers the client the form describes,
/// and shows what it was issued.
async fn create(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage) -> Reply {
    let form = ClientForm::from_params(&page.params);
    if admin.accept(ctx, &page.params, CREATE).await?.is_none() {
        return new_client(ctx, admin, &form, &[], Some(Notice::Failed(REFUSED)), 400).await;
    }
    let issued = match register_as_admin(ctx, &admin.actor(), &form.to_json(None)).await? {
        Ok(issued) => issued,
        Err(refused) => return new_client(ctx, admin, &form, &refused.0, None, 400).await,
    };
    let Issued { record, secret, .. } = &issued;
    let lead = if secret.is_some() {
        "The client is registered. Give it its client ID and secret."
    } else {
        "The client is registered. Give it its client ID."
    };
    show_issued(ctx, admin, "Client registered", lead, record, secret.as_deref()).await
}

/// What was issued, shown this once, in answer to the post that made it.
async fn show_issued(
    ctx: &Ctx,
    admin: &mut Admin,
    title: &str,
    lead: &str,
    record: &ClientRecord,
    secret: Option<&str>,
) -> Reply {
    let next = client_path(&record.client_id);
    let view = IssuedView {
        title,
        lead,
        client_id: &record.client_id,
        secret,
        next: &next,
    };
    show(ctx, admin, 200, None, &|shell| issued_page(shell, &view)).await
}

fn summary<'a>(record: &'a ClientRecord, path: &'a str) -> ClientSummary<'a> {
    ClientSummary {
        client_id: &record.client_id,
        name: name(record),
        confidential: record.is_confidential(),
        method: record.metadata.token_endpoint_auth_method.as_str(),
        registered: record.client_id_issued_at,
        self_registered: record.self_registered.is_some(),
        path,
    }
}

/// The client's page: what it is, and its form with `form`'s values.
#[allow(clippy::too_many_arguments)]
async fn client(
    ctx: &Ctx,
    admin: &mut Admin,
    record: &ClientRecord,
    form: &ClientForm,
    errors: &[Invalid],
    notice: Option<Notice<'_>>,
    status: u16,
) -> Reply {
    let path = client_path(&record.client_id);
    let fields = admin.form(ctx, EDIT, &record.client_id).await?;
    let view = ClientFormView {
        client: Some(summary(record, &path)),
        form,
        errors,
        post: fields.context(&path),
    };
    show(ctx, admin, status, notice, &|shell| client_page(shell, &view)).await
}

/// `GET /admin/clients/{id}`.
async fn view(ctx: &Ctx, admin: &mut Admin, record: &ClientRecord, done: Option<&str>) -> Reply {
    let form = ClientForm::from_metadata(&record.metadata);
    client(ctx, admin, record, &form, &[], done_notice(done), 200).await
}

/// The posted form's target, when it is a form of `purpose` for
/// `record` (it is used up now).
async fn accepted(
    ctx: &Ctx,
    admin: &Admin,
    page: &ConsolePage,
    purpose: &'static str,
    record: &ClientRecord,
) -> OAuthResult<bool> {
    let target = admin.accept(ctx, &page.params, purpose).await?;
    Ok(target.as_deref() == Some(record.client_id.as_str()))
}

/// `POST /admin/clients/{id}`: the edited registration, in full (RFC 7592
/// §2.2), taking effect at once on this isolate.
async fn edit(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, mut record: ClientRecord) -> Reply {
    let form = ClientForm::from_params(&page.params);
    if !accepted(ctx, admin, page, EDIT, &record).await? {
        let stored = ClientForm::from_metadata(&record.metadata);
        return client(ctx, admin, &record, &stored, &[], Some(Notice::Failed(REFUSED)), 400).await;
    }
    let body = form.to_json(Some(&record.client_id));
    // Refused, `update` has changed nothing.
    let secret = match register::update(&mut record, &body, Manager::Admin) {
        Ok(secret) => secret,
        Err(refused) => return client(ctx, admin, &record, &form, &refused.0, None, 400).await,
    };
    ctx.save_client(&record).await?;
    audit::record(ctx, &admin.actor(), "client.update", &record.client_id, None).await;
    if let Some(secret) = secret {
        let lead = "The client is saved, and confidential now: give it this secret.";
        return show_issued(ctx, admin, "Client saved", lead, &record, Some(&secret)).await;
    }
    let to = format!("{}?done=saved", client_path(&record.client_id));
    redirect(true, &to, &admin.browser.cookies)
}

/// A destructive action's page, asked once more.
#[allow(clippy::too_many_arguments)]
async fn confirm(
    ctx: &Ctx,
    admin: &mut Admin,
    record: &ClientRecord,
    purpose: &'static str,
    action: &str,
    title: &str,
    consequences: &[&str],
    button: &str,
) -> Reply {
    let back = client_path(&record.client_id);
    let action_path = format!("{back}/{action}");
    if let Err(sign_in) = admin.recent(ctx, &action_path) {
        return sign_in;
    }
    let fields: Fields = admin.form(ctx, purpose, &record.client_id).await?;
    let title = format!("{title} {}", name(record));
    let page = Confirm {
        title: &title,
        lead: "This cannot be undone.",
        consequences,
        form: fields.context(&action_path),
        step: action,
        fields: &[],
        button,
        back: &back,
    };
    show(ctx, admin, 200, None, &|shell| confirm_page(shell, &page)).await
}

fn public_has_none(record: &ClientRecord) -> OAuthResult<()> {
    if record.is_confidential() {
        return Ok(());
    }
    Err(invalid_request("A public client has no secret to rotate.").with_status(409))
}

/// `GET /admin/clients/{id}/secret`.
async fn confirm_rotation(ctx: &Ctx, admin: &mut Admin, record: &ClientRecord) -> Reply {
    public_has_none(record)?;
    let consequences = [
        "A new secret is made and shown once, on the next page.",
        "The current secret stops working at once: the client cannot authenticate until it is given the new one.",
        "Tokens it already holds keep working; its refresh tokens work with the new secret.",
    ];
    let button = "Rotate the secret";
    confirm(
        ctx,
        admin,
        record,
        SECRET,
        "secret",
        "Rotate the secret of",
        &consequences,
        button,
    )
    .await
}

/// A confirmed destructive post: a recent sign-in, then its form.
async fn confirmed(
    ctx: &Ctx,
    admin: &Admin,
    page: &ConsolePage,
    purpose: &'static str,
    action: &str,
    record: &ClientRecord,
) -> OAuthResult<Result<(), Reply>> {
    if let Err(sign_in) = admin.recent(ctx, &format!("{}/{action}", client_path(&record.client_id))) {
        return Ok(Err(sign_in));
    }
    if !accepted(ctx, admin, page, purpose, record).await? {
        return Err(invalid_request(STALE));
    }
    Ok(Ok(()))
}

/// `POST /admin/clients/{id}/secret`: a new secret, shown once.
async fn rotate(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, mut record: ClientRecord) -> Reply {
    public_has_none(&record)?;
    if let Err(sign_in) = confirmed(ctx, admin, page, SECRET, "secret", &record).await? {
        return sign_in;
    }
    let secret = register::new_secret(&record.metadata).ok_or_else(crate::protocol::error::server_error)?;
    record.client_secret_hash = Some(secret_hash(&secret));
    ctx.save_client(&record).await?;
    audit::record(ctx, &admin.actor(), "client.secret", &record.client_id, None).await;
    let lead = "The old secret no longer works. Give the client this one.";
    show_issued(ctx, admin, "New client secret", lead, &record, Some(&secret)).await
}

/// `GET /admin/clients/{id}/delete`.
async fn confirm_deletion(ctx: &Ctx, admin: &mut Admin, record: &ClientRecord) -> Reply {
    let consequences = [
        "Its access tokens stop working at once: userinfo refuses them and introspection calls them inactive.",
        "Its grants cannot be used: its refresh tokens and codes are refused at /token, where it can no longer authenticate.",
        "Sign-ins for it are refused at /authorize, signing out no longer sends people back to it, and its registration access token stops working.",
        "People's consents to it are kept but unused; registering it again makes a new client with a new ID.",
        "All of this at once on this server, and everywhere within about a minute (KV's delay).",
    ];
    confirm(
        ctx,
        admin,
        record,
        DELETE,
        "delete",
        "Delete",
        &consequences,
        "Delete the client",
    )
    .await
}

/// `POST /admin/clients/{id}/delete`.
async fn delete(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, record: &ClientRecord) -> Reply {
    if let Err(sign_in) = confirmed(ctx, admin, page, DELETE, "delete", record).await? {
        return sign_in;
    }
    register::delete_as_admin(ctx, &admin.actor(), &record.client_id).await?;
    redirect(true, "/admin/clients?done=deleted", &admin.browser.cookies)
}
