//! The account page (`/account`): who is signed in, their passkeys, their
//! password, the apps they have allowed, and signing out everywhere. Every
//! form posts to its own path with its own sealed handle and CSRF token.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate, Scripts, PASSKEY_SCRIPT};
use crate::protocol::passkey::CreationOptions;

/// One of the person's passkeys, as the passkeys section lists it.
pub struct PasskeyView {
    /// The credential id, base64url: what the rename and remove forms post
    /// as `credential_id`.
    pub id: String,
    /// The name the person gave it.
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// Backed up by its provider to the person's other devices (the
    /// authenticator's BE flag), rather than bound to one device.
    pub synced: bool,
}

/// An app the person has allowed, as the list shows it.
pub struct ConsentView {
    pub client_id: String,
    pub name: String,
    /// The host of the app's Client ID Metadata Document, when it has one
    /// (the host vouches for it, as on the consent page).
    pub host: Option<String>,
    /// What the app may do, in words.
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

/// The outcome of what the person just did, shown at the top.
pub enum Notice<'a> {
    Done(&'a str),
    Failed(&'a str),
}

pub struct PasskeyRow<'a> {
    pub passkey: &'a PasskeyView,
    pub rename: FormContext<'a>,
    pub remove: FormContext<'a>,
}

/// The form that adds a passkey: a registration bound to it (its
/// challenge comes from the form's id), run by `/assets/passkey.js`.
pub struct AddPasskey<'a> {
    pub options: &'a CreationOptions,
    pub form: FormContext<'a>,
}

/// An upstream provider on the account page: linked (since when) or not,
/// with the form that unlinks or links it.
pub struct LinkRow<'a> {
    pub idp: &'a str,
    pub name: &'a str,
    pub linked_at: Option<u64>,
    pub form: FormContext<'a>,
}

pub struct ConsentRow<'a> {
    pub consent: &'a ConsentView,
    pub withdraw: FormContext<'a>,
}

/// Everything the account page shows.
pub struct AccountPage<'a> {
    pub username: &'a str,
    /// The `name` claim, when the account has one.
    pub name: Option<&'a str>,
    pub notice: Option<Notice<'a>>,
    /// Whether the account has a password (a passkey-only one has none,
    /// and may set one without a current one).
    pub has_password: bool,
    pub passkeys: &'a [PasskeyRow<'a>],
    pub add_passkey: Option<AddPasskey<'a>>,
    pub password: FormContext<'a>,
    pub links: &'a [LinkRow<'a>],
    pub consents: &'a [ConsentRow<'a>],
    /// More apps than the list shows.
    pub more_consents: bool,
    pub sign_out: FormContext<'a>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct Account<'a> {
    page: &'a AccountPage<'a>,
    /// The passkey script, when the page can add a passkey.
    scripts: Option<Scripts>,
}

impl PageTemplate for Account<'_> {
    fn scripts(&self) -> Option<&Scripts> {
        self.scripts.as_ref()
    }
}

impl Account<'_> {
    fn date(&self, secs: &u64) -> String {
        super::date(*secs)
    }
}

pub fn account_page(page: &AccountPage) -> Page {
    render(&Account {
        page,
        scripts: page.add_passkey.as_ref().map(|_| Scripts::fresh(PASSKEY_SCRIPT)),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::test_support::*;
    use super::*;

    pub fn passkey(name: &str) -> PasskeyView {
        PasskeyView {
            id: "Y3JlZC0x".into(),
            name: name.into(),
            created_at: 1_764_633_600,
            last_used_at: Some(951_782_400),
            synced: true,
        }
    }

    pub fn consent(name: &str) -> ConsentView {
        ConsentView {
            client_id: "client-1".into(),
            name: name.into(),
            host: Some("app.example".into()),
            scopes: vec!["Your email address".into(), "Stay signed in".into()],
            granted_at: 0,
        }
    }

    fn form_to(action: &'static str) -> FormContext<'static> {
        FormContext { action, ..form() }
    }

    /// An account page with one passkey and one app, `value` in every
    /// place a value goes.
    pub fn render_with(value: &str, notice: Option<Notice>, add: Option<AddPasskey>) -> String {
        let page = render_page(value, notice, add);
        assert!(page.script_nonce.is_none());
        page.html
    }

    pub fn render_page(value: &str, notice: Option<Notice>, add: Option<AddPasskey>) -> Page {
        let p = passkey(value);
        let c = consent(value);
        let passkeys = [PasskeyRow {
            passkey: &p,
            rename: form_to("/account/passkeys"),
            remove: form_to("/account/passkeys"),
        }];
        let consents = [ConsentRow {
            consent: &c,
            withdraw: form_to("/account/consents"),
        }];
        account_page(&AccountPage {
            username: "ada",
            name: Some(value),
            notice,
            has_password: true,
            passkeys: &passkeys,
            add_passkey: add,
            password: form_to("/account/password"),
            links: &[],
            consents: &consents,
            more_consents: false,
            sign_out: form_to("/account/sessions"),
        })
    }

    /// The markup of the form posting to `action` with hidden `step`.
    fn form_of<'h>(html: &'h str, action: &str, step: &str) -> &'h str {
        let start = html
            .match_indices("<form ")
            .map(|(i, _)| i)
            .find(|i| {
                let f = &html[*i..];
                let f = &f[..f.find("</form>").unwrap()];
                f.contains(&format!("action=\"{action}\"")) && f.contains(&format!("name=\"step\" value=\"{step}\""))
            })
            .unwrap_or_else(|| panic!("no form to {action} with step {step}"));
        let len = html[start..].find("</form>").unwrap();
        &html[start..start + len]
    }

    #[test]
    fn every_form_posts_its_own_fields_to_its_own_path() {
        let html = render_with("Ada", None, None);
        for (action, step, fields) in [
            (
                "/account/password",
                "password",
                &["current_password", "new_password", "confirm_password"][..],
            ),
            ("/account/consents", "withdraw", &["client_id"][..]),
            ("/account/sessions", "sign-out", &[][..]),
            ("/account/passkeys", "rename", &["credential_id", "name"][..]),
            ("/account/passkeys", "remove", &["credential_id"][..]),
        ] {
            let f = form_of(&html, action, step);
            assert!(
                f.starts_with(&format!("<form method=\"post\" action=\"{action}\">")),
                "{f}"
            );
            assert!(
                f.contains("<input type=\"hidden\" name=\"handle\" value=\"h&quot;1\">"),
                "{f}"
            );
            assert!(
                f.contains("<input type=\"hidden\" name=\"csrf\" value=\"c&#39;2&amp;\">"),
                "{f}"
            );
            for name in fields {
                assert!(f.contains(&format!("name=\"{name}\"")), "{action} {step} lacks {name}");
            }
            assert!(f.contains("<button type=\"submit\""), "{f}");
        }
        let withdraw = form_of(&html, "/account/consents", "withdraw");
        assert!(withdraw.contains("name=\"client_id\" value=\"client-1\""));
        assert!(form_of(&html, "/account/passkeys", "remove").contains("name=\"credential_id\" value=\"Y3JlZC0x\""));
        assert!(html.contains("its tokens stop working"), "says what withdrawing ends");
        assert!(html.contains("described by app.example"));
        assert!(html.contains("added 2025-12-02, last used 2000-02-29, synced to your devices"));
        assert!(html.contains("allowed 1970-01-01: Your email address; Stay signed in"));
        assert!(!html.contains("data-webauthn"), "no add form without a ceremony");
        assert!(!html.contains("role=\"status\"") && !html.contains("role=\"alert\""));
    }

    #[test]
    fn notices_are_a_status_or_an_alert_at_the_top() {
        let done = render_with("Ada", Some(Notice::Done("Saved.")), None);
        let at = done
            .find("<p class=\"notice\" role=\"status\">Saved.</p>")
            .expect("status");
        assert!(at < done.find("<form").unwrap());
        let failed = render_with("Ada", Some(Notice::Failed("No.")), None);
        assert!(failed.contains("<p class=\"alert\" role=\"alert\">No.</p>"));
    }

    #[test]
    fn the_add_form_carries_the_ceremony_and_stays_hidden_for_the_script() {
        let options = creation_options();
        let add = AddPasskey {
            options: &options,
            form: form_to("/account/passkeys"),
        };
        let page = render_page("Ada", None, Some(add));
        let nonce = page.script_nonce.expect("the passkey script's nonce");
        let html = page.html;
        assert!(html.contains(&format!(
            "<script src=\"/assets/passkey.js\" nonce=\"{nonce}\" defer></script>"
        )));
        assert_creation_form(form_of(&html, "/account/passkeys", "add"));
    }

    #[test]
    fn escapes_every_value() {
        let html = render_with(HOSTILE, Some(Notice::Failed(HOSTILE)), None);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains(&format!("Signed in as <strong>{HOSTILE_ESCAPED}</strong> (ada)")));
        assert!(html.contains(&format!("<strong>{HOSTILE_ESCAPED}</strong><small>added")));
        assert!(
            html.contains(&format!("value=\"{HOSTILE_ESCAPED}\" required>")),
            "the rename input"
        );
        assert!(html.contains(&format!("<strong>{HOSTILE_ESCAPED}</strong><small>described by")));
        assert!(html.contains(&format!("role=\"alert\">{HOSTILE_ESCAPED}</p>")));
    }

    #[test]
    fn lists_say_when_they_are_empty() {
        let page = account_page(&AccountPage {
            username: "ada",
            name: None,
            notice: None,
            has_password: false,
            passkeys: &[],
            add_passkey: None,
            password: form(),
            links: &[],
            consents: &[],
            more_consents: false,
            sign_out: form(),
        })
        .html;
        assert!(page.contains("Signed in as <strong>ada</strong></p>"));
        assert!(page.contains("You have no passkeys yet."));
        assert!(page.contains("You have not allowed any apps."));
        assert!(!page.contains("current_password"), "no current password to ask for");
        assert!(page.contains("Set a password"));
    }
}
