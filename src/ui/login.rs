//! The sign-in form: posts `step=login`, `username` and `password`.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate};

/// Why a client's sign-in takes no password.
const PASSKEY_REQUIRED: &str = "This application requires signing in with a passkey.";

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    form: &'a FormContext<'a>,
    client_name: Option<&'a str>,
    hint: &'a str,
    error: Option<&'a str>,
}

impl PageTemplate for Login<'_> {}

/// The sign-in page for `client_name`, or for the account page itself
/// (`None`). `login_hint` prefills the username; `error` (a generic
/// message that does not say which field was wrong) is shown above the
/// form in an alert. The password is never echoed back. The focus starts
/// in the first field left to fill: the password when the username is
/// prefilled, the username otherwise. `passkey_required`: the client takes
/// only a passkey sign-in; the alert says so (the password form stays
/// until the passkey sign-in has a place on the page).
pub fn login_page(
    form: &FormContext,
    client_name: Option<&str>,
    login_hint: Option<&str>,
    error: Option<&str>,
    passkey_required: bool,
) -> Page {
    render(&Login {
        form,
        client_name,
        hint: login_hint.unwrap_or(""),
        error: error.or(passkey_required.then_some(PASSKEY_REQUIRED)),
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

    #[test]
    fn has_hidden_fields_inputs_and_button() {
        let html = login_page(&form(), Some("Example App"), None, None, false).html;
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
        let fresh = login_page(&form(), Some("App"), None, None, false).html;
        assert!(input(&fresh, "username").contains(" autofocus"));
        assert!(!input(&fresh, "password").contains("autofocus"));
        let hinted = login_page(
            &form(),
            Some("App"),
            Some("alice"),
            Some("Incorrect username or password"),
            false,
        )
        .html;
        assert!(!input(&hinted, "username").contains("autofocus"));
        assert!(input(&hinted, "password").contains(" autofocus"));
        assert!(input(&hinted, "username").contains("value=\"alice\""));
        let empty_hint = login_page(&form(), Some("App"), Some(""), None, false).html;
        assert!(input(&empty_hint, "username").contains(" autofocus"));
    }

    #[test]
    fn never_carries_a_password_value() {
        let html = login_page(
            &form(),
            Some("App"),
            Some("alice"),
            Some("Incorrect username or password"),
            false,
        )
        .html;
        assert!(!input(&html, "password").contains("value="));
    }

    #[test]
    fn error_is_an_alert_only_when_given() {
        let without = login_page(&form(), Some("App"), None, None, false).html;
        assert!(!without.contains("role=\"alert\""));
        assert!(!without.contains("aria-describedby"));

        let with = login_page(
            &form(),
            Some("App"),
            None,
            Some("Incorrect username or password"),
            false,
        )
        .html;
        assert!(with.contains("<p class=\"alert\" id=\"error\" role=\"alert\">Incorrect username or password</p>"));
        assert!(
            with.find("role=\"alert\"") < with.find("<form"),
            "error sits above the form"
        );
        assert!(input(&with, "username").contains("aria-describedby=\"error\""));
        assert!(input(&with, "password").contains("aria-describedby=\"error\""));
    }

    #[test]
    fn escapes_client_name_hint_and_error() {
        let html = login_page(&form(), Some(HOSTILE), Some("a\"b' onfocus='x"), Some(HOSTILE), false).html;
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("to continue to <strong>{HOSTILE_ESCAPED}</strong>")));
        assert!(html.contains(&format!("role=\"alert\">{HOSTILE_ESCAPED}</p>")));
        assert!(input(&html, "username").contains("value=\"a&quot;b&#39; onfocus=&#39;x\""));
    }

    #[test]
    fn a_passkey_only_client_is_said_in_the_alert() {
        let html = login_page(&form(), Some("App"), None, None, true).html;
        let alert = format!("<p class=\"alert\" id=\"error\" role=\"alert\">{PASSKEY_REQUIRED}</p>");
        assert!(html.contains(&alert), "{html}");
        let other = login_page(&form(), Some("App"), None, Some("Something else"), true).html;
        assert!(other.contains("role=\"alert\">Something else</p>") && !other.contains(PASSKEY_REQUIRED));
        assert!(!login_page(&form(), Some("App"), None, None, false)
            .html
            .contains(PASSKEY_REQUIRED));
    }

    #[test]
    fn without_a_client_it_signs_in_to_the_account() {
        let html = login_page(&form(), None, None, None, false).html;
        assert!(html.contains("<p class=\"sub\">to manage your account</p>"), "{html}");
        assert!(!html.contains("to continue to"));
        assert_hidden_fields(&html, "login");
    }
}
