//! RP-initiated logout: the confirmation (posts `step=logout` and
//! `decision=yes|no`) and the page shown afterwards.

use super::{decision_form, escape, page, FormContext, PRODUCT};

/// Asks whether to sign out; names the application that asked, if known.
pub fn logout_page(form: &FormContext, client_name: Option<&str>) -> String {
    let requested_by = client_name
        .map(|c| format!("<p class=\"sub\">Requested by <strong>{}</strong></p>\n", escape(c)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign out of {PRODUCT}?</h1>\n{requested_by}{}",
        decision_form(form, "logout", ("yes", "Sign out"), ("no", "Stay signed in")),
    );
    page("Sign out", &body)
}

/// Shown once the session has ended.
pub fn logged_out_page() -> String {
    page(
        "Signed out",
        "<h1>You have been signed out.</h1>\n<p class=\"sub\">You can close this window.</p>\n",
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn confirmation_has_hidden_fields_and_both_decisions() {
        let html = logout_page(&form(), Some("Example App"));
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
        assert!(!logout_page(&form(), None).contains("Requested by"));
        let html = logout_page(&form(), Some(HOSTILE));
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("Requested by <strong>{HOSTILE_ESCAPED}</strong>")));
    }

    #[test]
    fn logged_out_page_confirms_without_a_form() {
        let html = logged_out_page();
        assert!(html.contains("<h1>You have been signed out.</h1>"));
        assert!(!html.contains("<form"));
    }
}
