//! The sign-in form: posts `step=login`, `username` and `password`.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate};

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    form: &'a FormContext<'a>,
    client_name: &'a str,
    hint: &'a str,
    error: Option<&'a str>,
}

impl PageTemplate for Login<'_> {}

/// The sign-in page for `client_name`. `login_hint` prefills the username;
/// `error` (a generic message that does not say which field was wrong) is
/// shown above the form in an alert. The password is never echoed back.
/// The focus starts in the first field left to fill: the password when the
/// username is prefilled, the username otherwise.
pub fn login_page(form: &FormContext, client_name: &str, login_hint: Option<&str>, error: Option<&str>) -> Page {
    render(&Login {
        form,
        client_name,
        hint: login_hint.unwrap_or(""),
        error,
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
        let html = login_page(&form(), "Example App", None, None).html;
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
        let fresh = login_page(&form(), "App", None, None).html;
        assert!(input(&fresh, "username").contains(" autofocus"));
        assert!(!input(&fresh, "password").contains("autofocus"));
        let hinted = login_page(&form(), "App", Some("alice"), Some("Incorrect username or password")).html;
        assert!(!input(&hinted, "username").contains("autofocus"));
        assert!(input(&hinted, "password").contains(" autofocus"));
        assert!(input(&hinted, "username").contains("value=\"alice\""));
        let empty_hint = login_page(&form(), "App", Some(""), None).html;
        assert!(input(&empty_hint, "username").contains(" autofocus"));
    }

    #[test]
    fn never_carries_a_password_value() {
        let html = login_page(&form(), "App", Some("alice"), Some("Incorrect username or password")).html;
        assert!(!input(&html, "password").contains("value="));
    }

    #[test]
    fn error_is_an_alert_only_when_given() {
        let without = login_page(&form(), "App", None, None).html;
        assert!(!without.contains("role=\"alert\""));
        assert!(!without.contains("aria-describedby"));

        let with = login_page(&form(), "App", None, Some("Incorrect username or password")).html;
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
        let html = login_page(&form(), HOSTILE, Some("a\"b' onfocus='x"), Some(HOSTILE)).html;
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("to continue to <strong>{HOSTILE_ESCAPED}</strong>")));
        assert!(html.contains(&format!("role=\"alert\">{HOSTILE_ESCAPED}</p>")));
        assert!(input(&html, "username").contains("value=\"a&quot;b&#39; onfocus=&#39;x\""));
    }
}
