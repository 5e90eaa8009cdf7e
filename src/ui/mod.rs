//! The HTML a person sees: sign-in, consent, errors and sign-out.
//!
//! Pure functions from plain data to a `String`; no `worker` types, no I/O.
//! Every page shares one skeleton ([`page`]): inline CSS only, no scripts,
//! no external assets, readable on a phone, light and dark. Every dynamic
//! value goes through [`escape`] before it reaches the markup.

mod account;
mod consent;
mod error;
mod login;
mod logout;

pub use account::{
    account_page, AccountPage, AddPasskey, Ceremony, ConsentRow, ConsentView, Notice, PasskeyRow, PasskeyView,
};
pub use consent::{consent_page, DocumentClient, Unverified};
pub use error::error_page;
pub use login::login_page;
pub use logout::{logged_out_page, logout_page};

/// Headers every HTML page is sent with; the endpoint sets them.
///
/// The CSP deliberately has no `form-action` directive: Chromium applies
/// `form-action` to the redirects that follow a form submission, so
/// `form-action 'self'` would block the 302/303 from `POST /authorize` to
/// the client's redirect URI. `frame-ancestors 'none'` (and
/// `X-Frame-Options` for older browsers) keeps the pages out of frames,
/// which is what stops clickjacking of the consent buttons.
pub const HTML_HEADERS: [(&str, &str); 6] = [
    ("content-type", "text/html; charset=utf-8"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// Hidden fields every form carries and a client must send back unchanged.
#[derive(Debug, Clone, Copy)]
pub struct FormContext<'a> {
    /// Where the form posts to, e.g. `"/authorize"`.
    pub action: &'a str,
    /// The request handle that ties the post to the pending request.
    pub handle: &'a str,
    /// The CSRF token for this form.
    pub csrf: &'a str,
}

/// Escapes `s` for use as HTML text or as a double- or single-quoted
/// attribute value: `& < > " '`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const PRODUCT: &str = "edge-oidc";

/// Light colours first, dark ones under `prefers-color-scheme`. Text
/// contrast is at least 4.5:1 in both; borders at least 3:1.
const CSS: &str = "\
:root{color-scheme:light dark;--bg:#eef0f3;--card:#fff;--fg:#111827;--muted:#4b5563;\
--line:#6b7280;--accent:#1d4ed8;--on-accent:#fff;--err-bg:#fef2f2;--err:#991b1b;--ring:#1d4ed8}
@media (prefers-color-scheme:dark){:root{--bg:#0b0f17;--card:#1f2937;--fg:#f9fafb;\
--muted:#d1d5db;--line:#9ca3af;--accent:#93c5fd;--on-accent:#0b0f17;--err-bg:#450a0a;\
--err:#fecaca;--ring:#bfdbfe}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
padding:1rem;background:var(--bg);color:var(--fg);\
font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}
main{width:100%;max-width:26rem;background:var(--card);border-radius:.75rem;\
padding:2rem 1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.25)}
.brand{margin:0 0 1rem;color:var(--muted);font-size:.875rem;font-weight:600}
h1{margin:0 0 .5rem;font-size:1.5rem;line-height:1.25;overflow-wrap:anywhere}
p{margin:0 0 1rem;overflow-wrap:anywhere}
.sub{color:var(--muted)}
.host strong{font-size:1.25rem}
.alert,.notice{padding:.75rem 1rem;border-radius:.5rem;background:var(--err-bg);color:var(--err);\
border:1px solid currentColor}
.notice{background:transparent;color:var(--fg)}
h2{margin:2rem 0 .5rem;font-size:1.125rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{width:100%;padding:.625rem .75rem;font:inherit;color:inherit;background:var(--card);\
border:1px solid var(--line);border-radius:.5rem}
ul{margin:0 0 1.5rem;padding-left:1.25rem}
li{margin:.5rem 0;overflow-wrap:anywhere}
li small{display:block;color:var(--muted);font-size:.8125rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}
button{flex:1 1 8rem;min-height:2.75rem;padding:.625rem .5rem;font:inherit;font-weight:600;\
white-space:nowrap;color:var(--on-accent);background:var(--accent);border:2px solid var(--accent);\
border-radius:.5rem;cursor:pointer}
button.secondary{color:var(--fg);background:transparent;border-color:var(--line)}
:focus-visible{outline:3px solid var(--ring);outline-offset:2px}
";

/// The skeleton every page shares: document head, styles and the card.
/// `title` is plain text (escaped here); `body` is markup the page built
/// from escaped values.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <title>{title} – {PRODUCT}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <main>\n<p class=\"brand\">{PRODUCT}</p>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// Opens a `POST` form to `form.action` with the hidden fields `step`,
/// `handle` and `csrf`; the caller closes it.
fn form_start(form: &FormContext, step: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\">\n{}{}{}",
        escape(form.action),
        hidden("step", step),
        hidden("handle", form.handle),
        hidden("csrf", form.csrf),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
        escape(name),
        escape(value)
    )
}

/// A form whose only inputs are its hidden fields and two submit buttons
/// named `decision`: `primary` and `secondary` are `(value, label)`.
fn decision_form(form: &FormContext, step: &str, primary: (&str, &str), secondary: (&str, &str)) -> String {
    format!(
        "{}<div class=\"actions\">\n\
         <button type=\"submit\" name=\"decision\" value=\"{}\">{}</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"{}\" class=\"secondary\">{}</button>\n\
         </div>\n</form>\n",
        form_start(form, step),
        escape(primary.0),
        escape(primary.1),
        escape(secondary.0),
        escape(secondary.1),
    )
}

/// Helpers shared by the page tests.
#[cfg(test)]
mod test_support {
    use super::FormContext;

    pub const HOSTILE: &str = "<script>alert(1)</script>";
    pub const HOSTILE_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

    pub fn form() -> FormContext<'static> {
        FormContext {
            action: "/authorize",
            handle: "h\"1",
            csrf: "c'2&",
        }
    }

    /// The hidden fields of [`form`] for `step`, as rendered.
    pub fn assert_hidden_fields(html: &str, step: &str) {
        for field in [
            "<form method=\"post\" action=\"/authorize\">".to_string(),
            format!("<input type=\"hidden\" name=\"step\" value=\"{step}\">"),
            "<input type=\"hidden\" name=\"handle\" value=\"h&quot;1\">".to_string(),
            "<input type=\"hidden\" name=\"csrf\" value=\"c&#39;2&amp;\">".to_string(),
        ] {
            assert!(html.contains(&field), "missing {field} in:\n{html}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn escape_covers_text_and_attribute_metacharacters() {
        let cases = [
            ("plain text", "plain text"),
            ("a & b", "a &amp; b"),
            (HOSTILE, HOSTILE_ESCAPED),
            ("\" onmouseover=\"x", "&quot; onmouseover=&quot;x"),
            ("it's", "it&#39;s"),
            ("&amp;", "&amp;amp;"),
            ("ünïcödé ✓", "ünïcödé ✓"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "escape({input:?})");
        }
    }

    fn all_pages() -> Vec<(&'static str, String)> {
        let f = form();
        let scopes = [("openid".to_string(), "Confirm who you are".to_string())];
        vec![
            ("login", login_page(&f, Some("App"), None, None, false)),
            (
                "login with error",
                login_page(
                    &f,
                    Some("App"),
                    Some("x"),
                    Some("Incorrect username or password"),
                    false,
                ),
            ),
            ("login, passkey only", login_page(&f, Some("App"), None, None, true)),
            ("consent", consent_page(&f, "App", None, "alice", &scopes, None)),
            ("error", error_page("Something went wrong", "Try again.")),
            ("logout", logout_page(&f, Some("App"))),
            ("logged out", logged_out_page()),
        ]
    }

    #[test]
    fn every_page_shares_the_accessible_skeleton() {
        for (name, html) in all_pages() {
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{name}: lang");
            assert!(html.contains("<meta charset=\"utf-8\">"), "{name}: charset");
            assert!(
                html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
                "{name}: viewport"
            );
            assert_eq!(html.matches("<h1>").count(), 1, "{name}: one h1");
            assert_eq!(html.matches("<main>").count(), 1, "{name}: one main");
            assert!(html.contains("prefers-color-scheme:dark"), "{name}: dark styles");
            assert!(html.contains(":focus-visible{outline:"), "{name}: focus outline");
            for banned in ["<script", "<link", "src=", "href=", "http://", "https://"] {
                assert!(!html.contains(banned), "{name}: must not contain {banned}");
            }
        }
    }

    #[test]
    fn every_input_has_a_label() {
        for (name, html) in all_pages() {
            for tag in html.split('<').filter(|t| t.starts_with("input ")) {
                if tag.contains("type=\"hidden\"") {
                    continue;
                }
                let id = tag.split("id=\"").nth(1).and_then(|s| s.split('"').next());
                let id = id.unwrap_or_else(|| panic!("{name}: input without id: {tag}"));
                assert!(
                    html.contains(&format!("<label for=\"{id}\">")),
                    "{name}: no label for {id}"
                );
            }
        }
    }

    #[test]
    fn headers_are_safe_and_allow_the_post_redirect() {
        let get = |k: &str| HTML_HEADERS.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(get("x-frame-options"), Some("DENY"));
        assert_eq!(get("x-content-type-options"), Some("nosniff"));
        assert_eq!(get("referrer-policy"), Some("no-referrer"));
        assert_eq!(get("cache-control"), Some("no-store"));
        let csp = get("content-security-policy").unwrap();
        for directive in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"] {
            assert!(csp.contains(directive), "CSP lacks {directive}");
        }
        assert!(
            !csp.contains("form-action"),
            "form-action would block the redirect after POST"
        );
        assert!(!csp.contains("script-src"), "pages need no scripts");
        assert!(!csp.contains("  "), "CSP line continuation left double spaces");
    }
}
