//! The sign-in page: a password form (`step=login`, `username`,
//! `password`) and, where the issuer can have passkeys, a passkey form
//! (`step=passkey`, `credential`) that /assets/passkey.js runs. Both carry
//! the same handle: whichever is sent first uses it up.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate, Scripts, PASSKEY_SCRIPT};

/// Why a client's sign-in takes no password.
const PASSKEY_REQUIRED: &str = "This application requires signing in with a passkey.";

/// A passkey sign-in's options: the RP ID and the challenge (base64url)
/// bound to the form.
#[derive(Debug, Clone)]
pub struct PasskeyRequest {
    pub rp_id: String,
    pub challenge: String,
}

/// What the sign-in page shows.
pub struct LoginView<'a> {
    pub form: &'a FormContext<'a>,
    /// Whom the person signs in to: the client's name, or "your account".
    pub client_name: &'a str,
    /// Prefills the username.
    pub login_hint: Option<&'a str>,
    /// A generic message (never which field was wrong), shown in an alert.
    pub error: Option<&'a str>,
    /// `None`: the issuer cannot have passkeys (an IP address), no passkey form.
    pub passkey: Option<PasskeyRequest>,
    /// The client takes only a passkey sign-in: no password form.
    pub passkey_required: bool,
    /// The upstream providers' buttons (id, name), above the password form.
    pub providers: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    view: &'a LoginView<'a>,
    hint: &'a str,
    alert: Option<&'a str>,
    scripts: Option<Scripts>,
}

impl PageTemplate for Login<'_> {
    fn scripts(&self) -> Option<&Scripts> {
        self.scripts.as_ref()
    }
}

/// The sign-in page. The password is never echoed back. The focus starts
/// in the first field left to fill: the password when the username is
/// prefilled, the username otherwise. The passkey form loads the passkey
/// script; without it (or without WebAuthn) that form stays hidden.
pub fn login_page(view: &LoginView) -> Page {
    let required = view.passkey_required.then_some(PASSKEY_REQUIRED);
    render(&Login {
        view,
        hint: view.login_hint.unwrap_or(""),
        alert: view.error.or(required),
        scripts: view.passkey.as_ref().map(|_| Scripts::fresh(PASSKEY_SCRIPT)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn input<'h>(html: &'h str, name: &str) -> &'h str {
        let start = html.find(&format!("<input id=\"{name}\"")).expect("input present");
        let len = html[start..].find('>').unwrap();
        &html[start..=start + len]
    }

    /// The page for "App" with a passkey form; `required`: no password form.
    fn with_passkey<'a>(form: &'a FormContext<'a>, required: bool) -> LoginView<'a> {
        LoginView {
            form,
            client_name: "App",
            login_hint: None,
            error: None,
            passkey: Some(PasskeyRequest {
                rp_id: "id.example.com".into(),
                challenge: "Y2hhbA".into(),
            }),
            passkey_required: required,
            providers: &[],
        }
    }

    fn page(form: &FormContext, client: &str, hint: Option<&str>, error: Option<&str>) -> String {
        login_page(&LoginView {
            form,
            client_name: client,
            login_hint: hint,
            error,
            passkey: None,
            passkey_required: false,
            providers: &[],
        })
        .html
    }

    #[test]
    fn has_hidden_fields_inputs_and_button() {
        let html = page(&form(), "Example App", None, None);
        assert_hidden_fields(&html, "login");
        assert!(html.contains("<title>Sign in – edge-oidc</title>"));
        assert!(html.contains("<h1>Sign in</h1>"));
        assert!(html.contains("to continue to <strong>Example App</strong>"));
        assert!(html.contains("<label for=\"username\">Username</label>"));
        assert!(html.contains("<label for=\"password\">Password</label>"));
        assert!(html.contains("<button type=\"submit\">Sign in</button>"));

        let username = input(&html, "username");
        for attr in [
            "name=\"username\"",
            "type=\"text\"",
            "value=\"\"",
            "autocomplete=\"username\"",
            "autocapitalize=\"none\"",
            " required",
            " autofocus",
        ] {
            assert!(username.contains(attr), "username lacks {attr}: {username}");
        }
        let password = input(&html, "password");
        for attr in [
            "name=\"password\"",
            "type=\"password\"",
            "autocomplete=\"current-password\"",
            " required",
        ] {
            assert!(password.contains(attr), "password lacks {attr}: {password}");
        }
        assert!(!password.contains("autofocus"));
    }

    #[test]
    fn focus_starts_in_the_first_empty_field() {
        let fresh = page(&form(), "App", None, None);
        assert!(input(&fresh, "username").contains(" autofocus"));
        assert!(!input(&fresh, "password").contains("autofocus"));
        let hinted = page(&form(), "App", Some("alice"), Some("Incorrect username or password"));
        assert!(!input(&hinted, "username").contains("autofocus"));
        assert!(input(&hinted, "password").contains(" autofocus"));
        assert!(input(&hinted, "username").contains("value=\"alice\""));
        let empty_hint = page(&form(), "App", Some(""), None);
        assert!(input(&empty_hint, "username").contains(" autofocus"));
    }

    #[test]
    fn never_carries_a_password_value() {
        let html = page(&form(), "App", Some("alice"), Some("Incorrect username or password"));
        assert!(!input(&html, "password").contains("value="));
    }

    #[test]
    fn error_is_an_alert_only_when_given() {
        let without = page(&form(), "App", None, None);
        assert!(!without.contains("role=\"alert\""));
        assert!(!without.contains("aria-describedby"));

        let with = page(&form(), "App", None, Some("Incorrect username or password"));
        assert!(with.contains("<p class=\"alert\" id=\"error\" role=\"alert\">Incorrect username or password</p>"));
        assert!(
            with.find("role=\"alert\"") < with.find("<form"),
            "error sits above the form"
        );
        assert!(input(&with, "username").contains("aria-describedby=\"error\""));
        assert!(input(&with, "password").contains("aria-describedby=\"error\""));
    }

    #[test]
    fn the_passkey_form_shares_the_handle_and_offers_passkeys_in_the_username_autofill() {
        let f = form();
        let page = login_page(&with_passkey(&f, false));
        let nonce = page
            .script_nonce
            .clone()
            .expect("the passkey script runs under a nonce");
        let html = page.html;
        assert!(html.contains(&format!(
            "<script src=\"/assets/passkey.js\" nonce=\"{nonce}\" defer></script>"
        )));
        assert!(input(&html, "username").contains("autocomplete=\"username webauthn\""));
        let passkey_form = &html[html.find("data-webauthn=\"get\"").expect("a passkey form")..];
        for part in [
            "data-rp-id=\"id.example.com\"",
            "data-challenge=\"Y2hhbA\"",
            " hidden>",
            "<input type=\"hidden\" name=\"step\" value=\"passkey\">",
            "<input type=\"hidden\" name=\"handle\" value=\"h&quot;1\">",
            "<input type=\"hidden\" name=\"credential\" value=\"\">",
            "<button type=\"submit\" class=\"secondary\">Sign in with a passkey</button>",
            "role=\"status\"",
        ] {
            assert!(passkey_form.contains(part), "passkey form lacks {part}");
        }
        assert!(
            html.find("name=\"password\"") < html.find("data-webauthn"),
            "the password form first"
        );
    }

    #[test]
    fn a_passkey_only_client_gets_no_password_form() {
        let f = form();
        let view = with_passkey(&f, true);
        let html = login_page(&view).html;
        let alert = format!("<p class=\"alert\" id=\"error\" role=\"alert\">{PASSKEY_REQUIRED}</p>");
        assert!(html.contains(&alert), "{html}");
        assert!(!html.contains("name=\"password\""));
        assert!(html.contains("<button type=\"submit\">Sign in with a passkey</button>"));
        assert!(html.contains("<noscript>"));
        let other = login_page(&LoginView {
            error: Some("Something else"),
            ..view
        })
        .html;
        assert!(other.contains("role=\"alert\">Something else</p>") && !other.contains(PASSKEY_REQUIRED));
        assert!(!page(&f, "App", None, None).contains(PASSKEY_REQUIRED));
    }

    #[test]
    fn escapes_client_name_hint_and_error() {
        let html = page(&form(), HOSTILE, Some("a\"b' onfocus='x"), Some(HOSTILE));
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("to continue to <strong>{HOSTILE_ESCAPED}</strong>")));
        assert!(html.contains(&format!("role=\"alert\">{HOSTILE_ESCAPED}</p>")));
        assert!(input(&html, "username").contains("value=\"a&quot;b&#39; onfocus=&#39;x\""));
    }
}
