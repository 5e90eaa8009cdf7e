//! The consent screen: posts `step=consent` and `decision=allow|deny`.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate};

/// A client known only by its Client ID Metadata Document: its name is
/// whatever the document says, so the page names the host that serves it,
/// and warns when every redirect URI is on a loopback host (whoever runs
/// software on this machine, not the host, receives the answer).
pub struct DocumentClient<'a> {
    pub host: &'a str,
    pub loopback_only: bool,
}

/// A client that registered itself (open registration): nobody at the
/// issuer vouches for its name, so the page says so and shows where the
/// answer goes.
pub struct Unverified<'a> {
    /// The issuer's host, as the person knows this site.
    pub issuer_host: &'a str,
    /// The host of the redirect URI the answer is sent to.
    pub redirect_host: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct Consent<'a> {
    form: &'a FormContext<'a>,
    client_name: &'a str,
    document: Option<&'a DocumentClient<'a>>,
    username: &'a str,
    scopes: &'a [(String, String)],
    unverified: Option<&'a Unverified<'a>>,
}

impl PageTemplate for Consent<'_> {}

/// Asks `username` whether `client_name` may have `scopes`, each given as
/// `(scope, words)`: the words are what a person reads, the scope name
/// follows in smaller text.
pub fn consent_page(
    form: &FormContext,
    client_name: &str,
    document: Option<&DocumentClient>,
    username: &str,
    scopes: &[(String, String)],
    unverified: Option<&Unverified>,
) -> Page {
    render(&Consent {
        form,
        client_name,
        document,
        username,
        scopes,
        unverified,
    })
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
        let html = consent_page(&form(), "Example App", None, "alice", &scopes(), None).html;
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
        let html = consent_page(&form(), "Example App", None, "alice", &scopes(), Some(&unverified)).html;
        assert!(html.contains("not verified by id.example.com"), "{html}");
        assert!(
            html.contains("you will be sent to <strong>app.example</strong>"),
            "{html}"
        );
        let plain = consent_page(&form(), "Example App", None, "alice", &scopes(), None).html;
        assert!(!plain.contains("not verified"));
    }

    #[test]
    fn no_scope_list_when_nothing_is_asked() {
        let html = consent_page(&form(), "App", None, "alice", &[], None).html;
        assert!(!html.contains("<ul>"));
        assert!(html.contains("value=\"allow\""));
    }

    #[test]
    fn document_clients_show_their_host_and_a_loopback_warning() {
        let public = DocumentClient {
            host: "app.example",
            loopback_only: false,
        };
        let html = consent_page(&form(), "App", Some(&public), "alice", &scopes(), None).html;
        let host = "<p class=\"host\">Described by <strong>app.example</strong></p>";
        assert!(html.contains(host), "{html}");
        assert!(html.find("<h1>") < html.find(host) && html.find(host) < html.find("Signed in as"));
        assert!(!html.contains("role=\"alert\""));
        let local = DocumentClient {
            host: "127.0.0.1",
            loopback_only: true,
        };
        let html = consent_page(&form(), "App", Some(&local), "alice", &scopes(), None).html;
        assert!(html.contains("Described by <strong>127.0.0.1</strong>"));
        assert!(html.contains("role=\"alert\">This app sends you back only to this computer"));
        let html = consent_page(&form(), "App", None, "alice", &scopes(), None).html;
        assert!(!html.contains("Described by"));
    }

    #[test]
    fn escapes_every_value() {
        let hostile = vec![(HOSTILE.to_string(), "a \"quoted\" word".to_string())];
        let doc = DocumentClient {
            host: HOSTILE,
            loopback_only: false,
        };
        let unverified = Unverified {
            issuer_host: HOSTILE,
            redirect_host: HOSTILE,
        };
        let html = consent_page(&form(), HOSTILE, Some(&doc), "bob\"<b>", &hostile, Some(&unverified)).html;
        assert!(html.contains(&format!("Described by <strong>{HOSTILE_ESCAPED}</strong>")));
        assert!(html.contains(&format!("not verified by {HOSTILE_ESCAPED}")));
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains(&format!("<h1>{HOSTILE_ESCAPED} wants to access your account</h1>")));
        assert!(html.contains("Signed in as <strong>bob&quot;&lt;b&gt;</strong>"));
        assert!(html.contains(&format!(
            "<li>a &quot;quoted&quot; word<small>{HOSTILE_ESCAPED}</small></li>"
        )));
    }
}
