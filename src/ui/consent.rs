//! The consent screen: posts `step=consent` and `decision=allow|deny`.

use super::{decision_form, escape, page, FormContext};

/// A client that registered itself (open registration): nobody at the
/// issuer vouches for its name, so the page says so and shows where the
/// answer goes.
pub struct Unverified<'a> {
    /// The issuer's host, as the person knows this site.
    pub issuer_host: &'a str,
    /// The host of the redirect URI the answer is sent to.
    pub redirect_host: &'a str,
}

fn unverified_notice(u: &Unverified) -> String {
    format!(
        "<p class=\"alert\" role=\"note\">This app registered itself: its name is \
         not verified by {issuer}. If you allow, you will be sent to \
         <strong>{host}</strong>.</p>\n",
        issuer = escape(u.issuer_host),
        host = escape(u.redirect_host),
    )
}

/// Asks `username` whether `client_name` may have `scopes`, each given as
/// `(scope, words)`: the words are what a person reads, the scope name
/// follows in smaller text.
pub fn consent_page(
    form: &FormContext,
    client_name: &str,
    username: &str,
    scopes: &[(String, String)],
    unverified: Option<&Unverified>,
) -> String {
    let client = escape(client_name);
    let notice = unverified.map(unverified_notice).unwrap_or_default();
    let list = if scopes.is_empty() {
        String::new()
    } else {
        let items: String = scopes
            .iter()
            .map(|(scope, words)| format!("<li>{}<small>{}</small></li>\n", escape(words), escape(scope)))
            .collect();
        format!("<p>This will allow {client} to:</p>\n<ul>\n{items}</ul>\n")
    };
    let body = format!(
        "<h1>{client} wants to access your account</h1>\n\
         <p class=\"sub\">Signed in as <strong>{user}</strong></p>\n\
         {notice}{list}{form}",
        user = escape(username),
        form = decision_form(form, "consent", ("allow", "Allow"), ("deny", "Deny")),
    );
    page("Allow access?", &body)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn scopes() -> Vec<(String, String)> {
        [("openid", "Confirm who you are"), ("email", "See your email address")]
            .iter()
            .map(|(s, w)| (s.to_string(), w.to_string()))
            .collect()
    }

    #[test]
    fn has_hidden_fields_scopes_and_both_decisions() {
        let html = consent_page(&form(), "Example App", "alice", &scopes(), None);
        assert_hidden_fields(&html, "consent");
        assert!(html.contains("<h1>Example App wants to access your account</h1>"));
        assert!(html.contains("Signed in as <strong>alice</strong>"));
        assert!(html.contains("<li>Confirm who you are<small>openid</small></li>"));
        assert!(html.contains("<li>See your email address<small>email</small></li>"));
        let allow = "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>";
        let deny = "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>";
        assert!(html.contains(allow) && html.contains(deny), "{html}");
        assert!(html.find(allow) < html.find(deny), "Allow is the primary, first action");
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains("<input id="), "no visible inputs, only hidden ones");
    }

    #[test]
    fn self_registered_clients_are_marked_with_their_redirect_host() {
        let unverified = Unverified {
            issuer_host: "id.example.com",
            redirect_host: "app.example",
        };
        let html = consent_page(&form(), "Example App", "alice", &scopes(), Some(&unverified));
        assert!(html.contains("not verified by id.example.com"), "{html}");
        assert!(
            html.contains("you will be sent to <strong>app.example</strong>"),
            "{html}"
        );
        let plain = consent_page(&form(), "Example App", "alice", &scopes(), None);
        assert!(!plain.contains("not verified"));
    }

    #[test]
    fn no_scope_list_when_nothing_is_asked() {
        let html = consent_page(&form(), "App", "alice", &[], None);
        assert!(!html.contains("<ul>"));
        assert!(html.contains("value=\"allow\""));
    }

    #[test]
    fn escapes_every_value() {
        let hostile = vec![(HOSTILE.to_string(), "a \"quoted\" word".to_string())];
        let unverified = Unverified {
            issuer_host: HOSTILE,
            redirect_host: HOSTILE,
        };
        let html = consent_page(&form(), HOSTILE, "bob\"<b>", &hostile, Some(&unverified));
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains(&format!("<h1>{HOSTILE_ESCAPED} wants to access your account</h1>")));
        assert!(html.contains("Signed in as <strong>bob&quot;&lt;b&gt;</strong>"));
        assert!(html.contains(&format!(
            "<li>a &quot;quoted&quot; word<small>{HOSTILE_ESCAPED}</small></li>"
        )));
    }
}
