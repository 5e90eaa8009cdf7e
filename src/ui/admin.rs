//! The admin console's pages (`/admin`): the layout every page shares
//! ([`Shell`], `admin_base.html`), the overview, the confirmation of a
//! destructive action, the signing keys and the audit log. The sections
//! with forms of their own (clients, users) add theirs beside these.

use askama::Template;

pub use super::account::Notice;
use super::{render, FormContext, Page, PageTemplate};

/// The console's sections: path, name in the navigation, and the
/// [`Shell::section`] that marks it as the current page.
pub const SECTIONS: [(&str, &str, &str); 5] = [
    ("/admin", "Overview", "home"),
    ("/admin/clients", "Clients", "clients"),
    ("/admin/accounts", "Users", "users"),
    ("/admin/signing-keys", "Signing keys", "keys"),
    ("/admin/audit", "Audit log", "audit"),
];

/// What every console page shows around its own content.
pub struct Shell<'a> {
    /// The administrator signed in.
    pub username: &'a str,
    /// Which of [`SECTIONS`] the page belongs to.
    pub section: &'static str,
    /// The navigation's sign-out form (`POST /admin/logout`).
    pub sign_out: FormContext<'a>,
    /// What was just done, or why it could not be.
    pub notice: Option<Notice<'a>>,
}

#[derive(Template)]
#[template(path = "admin_home.html")]
struct Home<'a> {
    shell: Shell<'a>,
    idle_minutes: u64,
    reauth_minutes: u64,
}

impl PageTemplate for Home<'_> {}

/// The overview; `idle_ttl` and `reauth_ttl`: the console session's
/// settings, said in minutes.
pub fn home_page(shell: Shell, idle_ttl: u64, reauth_ttl: u64) -> Page {
    render(&Home {
        shell,
        idle_minutes: idle_ttl.div_ceil(60),
        reauth_minutes: reauth_ttl.div_ceil(60),
    })
}

/// A destructive action, asked once more: what it does (`lead`), what it
/// ends, and the form that does it (posting `fields` besides its own).
pub struct Confirm<'a> {
    pub title: &'a str,
    pub lead: &'a str,
    pub consequences: &'a [&'a str],
    pub form: FormContext<'a>,
    /// The form's `step`.
    pub step: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
    pub button: &'a str,
    /// Where "Cancel" goes.
    pub back: &'a str,
}

#[derive(Template)]
#[template(path = "admin_confirm.html")]
struct ConfirmPage<'a> {
    shell: Shell<'a>,
    page: &'a Confirm<'a>,
}

impl PageTemplate for ConfirmPage<'_> {}

pub fn confirm_page(shell: Shell, page: &Confirm) -> Page {
    render(&ConfirmPage { shell, page })
}

/// One entry of the audit log as the page shows it.
pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub address: String,
    pub detail: Option<String>,
}

pub struct AuditView<'a> {
    pub rows: &'a [AuditRow],
    pub query: &'a str,
    /// `query` for the next page's link.
    pub query_encoded: String,
    pub next: Option<&'a str>,
    pub kept_days: u64,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct Audit<'a> {
    shell: Shell<'a>,
    page: &'a AuditView<'a>,
}

impl PageTemplate for Audit<'_> {}

pub fn audit_page(shell: Shell, page: &AuditView) -> Page {
    render(&Audit { shell, page })
}

/// A signing key as the keys page lists it.
pub struct KeyRow {
    pub alg: &'static str,
    pub kid: String,
    pub created: String,
    pub age: String,
    pub state: String,
}

pub struct KeysView<'a> {
    pub keys: &'a [KeyRow],
    /// The keys come from `SIGNING_KEYS`: no rotation here.
    pub managed: bool,
    pub interval_days: u64,
    pub next_rotation: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_keys.html")]
struct Keys<'a> {
    shell: Shell<'a>,
    page: &'a KeysView<'a>,
}

impl PageTemplate for Keys<'_> {}

pub fn keys_page(shell: Shell, page: &KeysView) -> Page {
    render(&Keys { shell, page })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_support::*;
    use super::*;

    pub fn shell(notice: Option<Notice<'static>>) -> Shell<'static> {
        Shell {
            username: HOSTILE,
            section: "keys",
            sign_out: FormContext {
                action: "/admin/logout",
                handle: "h\"1",
                csrf: "c'2&",
            },
            notice,
        }
    }

    fn pages() -> Vec<(&'static str, String)> {
        let row = AuditRow {
            when: "2026-12-02 06:13:04 UTC".into(),
            actor: HOSTILE.into(),
            action: "client.delete".into(),
            target: "c-1".into(),
            address: "198.51.100.7".into(),
            detail: Some(HOSTILE.into()),
        };
        let key = KeyRow {
            alg: "ES256",
            kid: "k1".into(),
            created: "2026-11-30".into(),
            age: "2 days".into(),
            state: "signs".into(),
        };
        let confirm = Confirm {
            title: "Delete client",
            lead: HOSTILE,
            consequences: &["Its tokens stop working."],
            form: form(),
            step: "delete",
            fields: &[("client_id", HOSTILE)],
            button: "Delete",
            back: "/admin/clients/c-1",
        };
        let rows = [row];
        let audit = AuditView {
            rows: &rows,
            query: HOSTILE,
            query_encoded: "q".into(),
            next: Some("Mi4"),
            kept_days: 90,
        };
        let keys = [key];
        let keys = KeysView {
            keys: &keys,
            managed: false,
            interval_days: 30,
            next_rotation: Some("2026-12-30".into()),
        };
        vec![
            ("home", home_page(shell(None), 1800, 300).html),
            (
                "confirm",
                confirm_page(shell(Some(Notice::Failed(HOSTILE))), &confirm).html,
            ),
            ("audit", audit_page(shell(Some(Notice::Done("Done."))), &audit).html),
            ("keys", keys_page(shell(None), &keys).html),
        ]
    }

    #[test]
    fn every_console_page_has_the_layout_and_escapes_what_it_shows() {
        for (name, html) in pages() {
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{name}");
            assert_eq!(html.matches("<h1>").count(), 1, "{name}: one h1");
            assert!(html.contains("<main class=\"console\" id=\"console\">"), "{name}");
            assert!(html.contains("<nav aria-label=\"Admin console\">"), "{name}");
            assert!(html.contains("main.console{max-width:64rem"), "{name}: console styles");
            assert!(html.contains("prefers-color-scheme:dark"), "{name}: dark styles");
            assert!(!html.contains("<script"), "{name}: no scripts");
            assert!(!html.contains(HOSTILE), "{name}: unescaped");
            assert!(html.contains(&format!("Sign out {HOSTILE_ESCAPED}")), "{name}");
            assert_hidden_fields(&html.replace("/admin/logout", "/authorize"), "sign-out");
            for href in html.split("href=\"").skip(1) {
                assert!(href.starts_with("/admin") || href.starts_with('#'), "{name}: {href}");
            }
        }
    }

    #[test]
    fn the_current_section_is_marked_for_assistive_technology() {
        let html = &pages()[3].1;
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
        assert!(html.contains("<a href=\"/admin/signing-keys\" aria-current=\"page\">Signing keys</a>"));
    }

    #[test]
    fn notices_are_announced() {
        let pages = pages();
        assert!(pages[1]
            .1
            .contains(&format!("<p class=\"alert\" role=\"alert\">{HOSTILE_ESCAPED}</p>")));
        assert!(pages[2].1.contains("<p class=\"notice\" role=\"status\">Done.</p>"));
    }

    #[test]
    fn the_confirmation_posts_its_fields_and_can_be_cancelled() {
        let html = &pages()[1].1;
        assert_hidden_fields(html, "delete");
        assert!(html.contains(&format!(
            "<input type=\"hidden\" name=\"client_id\" value=\"{HOSTILE_ESCAPED}\">"
        )));
        assert!(html.contains("<button type=\"submit\" class=\"danger\">Delete</button>"));
        assert!(html.contains("<a href=\"/admin/clients/c-1\">Cancel</a>"));
    }

    #[test]
    fn managed_keys_offer_no_rotation() {
        let keys = KeysView {
            keys: &[],
            managed: true,
            interval_days: 30,
            next_rotation: None,
        };
        let html = keys_page(shell(None), &keys).html;
        assert!(html.contains("SIGNING_KEYS"));
        assert!(!html.contains("/admin/signing-keys/rotate"));
        let html = &pages()[3].1;
        assert_eq!(html.matches("action=\"/admin/signing-keys/rotate\"").count(), 2);
        assert!(html.contains("Next scheduled rotation: <strong>2026-12-30</strong>"));
    }
}
