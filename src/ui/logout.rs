//! RP-initiated logout: the confirmation (posts `step=logout` and
//! `decision=yes|no`) and the page shown afterwards.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate};

#[derive(Template)]
#[template(path = "logout.html")]
struct Logout<'a> {
    form: &'a FormContext<'a>,
    client_name: Option<&'a str>,
}

impl PageTemplate for Logout<'_> {}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOut;

impl PageTemplate for LoggedOut {}

/// Asks whether to sign out; names the application that asked, if known.
pub fn logout_page(form: &FormContext, client_name: Option<&str>) -> Page {
    render(&Logout { form, client_name })
}

/// Shown once the session has ended.
pub fn logged_out_page() -> Page {
    render(&LoggedOut)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn confirmation_has_hidden_fields_and_both_decisions() {
        let html = logout_page(&form(), Some("Example App")).html;
        assert_hidden_fields(&html, "logout");
        assert!(html.contains("<h1>Sign out of edge-oidc?</h1>"));
        assert!(html.contains("Requested by <strong>Example App</strong>"));
        assert!(html.contains("<button type=\"submit\" name=\"decision\" value=\"yes\">Sign out</button>"));
        assert!(html.contains(
            "<button type=\"submit\" name=\"decision\" value=\"no\" class=\"secondary\">Stay signed in</button>"
        ));
    }

    #[test]
    fn client_name_is_optional_and_escaped() {
        assert!(!logout_page(&form(), None).html.contains("Requested by"));
        let html = logout_page(&form(), Some(HOSTILE)).html;
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("Requested by <strong>{HOSTILE_ESCAPED}</strong>")));
    }

    #[test]
    fn logged_out_page_confirms_without_a_form() {
        let html = logged_out_page().html;
        assert!(html.contains("<h1>You have been signed out.</h1>"));
        assert!(!html.contains("<form"));
    }
}
