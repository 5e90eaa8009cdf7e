//! The audit log: [`record`] writes an entry for every admin action, the
//! console's and the JSON APIs' (as `ADMIN_TOKEN`); `GET /admin/audit`
//! shows it newest first, searchable, a page at a time.

use super::{encode, not_found, Admin, ConsolePage};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::Ctx;
use crate::protocol::audit::{AuditEntry, TOKEN_ACTOR};
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::random;
use crate::store::listing;
use crate::store::RecordStore;
use crate::ui::admin::{audit_page, AuditRow, AuditView};
use crate::ui::date_time;
use serde_json::Value;

/// Who did something, and from where.
pub struct Actor {
    /// The administrator's username, or `ADMIN_TOKEN`.
    pub name: String,
    pub address: String,
}

impl Actor {
    /// A call of a JSON API with the admin token.
    pub fn token(req: &Request) -> Self {
        Actor {
            name: TOKEN_ACTOR.to_owned(),
            address: address(req),
        }
    }
}

/// `CF-Connecting-IP`, which Cloudflare sets on every request (absent only
/// in local development).
pub fn address(req: &Request) -> String {
    req.header("cf-connecting-ip").unwrap_or_else(|| "unknown".into())
}

/// Logs `action` on `target` (empty for none). Called once the action is
/// done: a log that cannot be written is reported in the worker's log and
/// does not undo or fail what was done (KV write failures are rare, and
/// an administrator told "failed" about a change that was made would try
/// it again).
pub async fn record(ctx: &Ctx, actor: &Actor, action: &str, target: &str, detail: Option<&str>) {
    let entry = AuditEntry {
        key: AuditEntry::key_for(worker::Date::now().as_millis(), &random::id()),
        at: ctx.now,
        actor: actor.name.clone(),
        address: actor.address.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.map(str::to_owned),
        expires_at: ctx.now + ctx.config.audit_log_ttl,
    };
    if let Err(e) = write(ctx, &entry).await {
        crate::log::error(&format!(
            "audit log: {action} on {target} by {} not written: {e:?}",
            actor.name
        ));
    }
}

async fn write(ctx: &Ctx, entry: &AuditEntry) -> OAuthResult<()> {
    Ok(ctx.records()?.put(entry).await?)
}

/// `GET /admin/audit?q=…&cursor=…`.
pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, rest: &str) -> Reply {
    if !rest.is_empty() {
        return Err(not_found());
    }
    if page.post {
        return Err(super::not_allowed());
    }
    let query = page.params.get("q").unwrap_or_default();
    let store = ctx.records()?;
    let listed = listing::page::<AuditEntry>(&store, query, page.params.get("cursor")).await?;
    let listed = listed.ok_or_else(|| invalid_request("This page of the log is not one the console made."))?;
    let rows: Vec<AuditRow> = listed.rows.iter().map(|(_, labels)| row(labels)).collect();
    let view = AuditView {
        rows: &rows,
        query,
        query_encoded: encode(query),
        next: listed.next.as_deref(),
        kept_days: ctx.config.audit_log_ttl.div_ceil(86_400),
    };
    let sign_out = admin.sign_out_form(ctx).await?;
    html(
        200,
        audit_page(admin.shell("audit", &sign_out, None), &view),
        &admin.browser.cookies,
    )
}

/// An entry from its labels (the KV metadata [`AuditEntry::labels`] wrote).
fn row(labels: &Value) -> AuditRow {
    let text = |name: &str| labels.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    AuditRow {
        when: text("at").parse().map(date_time).unwrap_or_default(),
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        address: text("address"),
        detail: labels.get("detail").and_then(Value::as_str).map(str::to_owned),
    }
}
