//! The HTML a person sees: sign-in, consent, errors and sign-out.
//!
//! Plain data in, a [`Page`] out; no `worker` types, no I/O. Every page is
//! an askama template in `src/ui/templates/` (askama.toml says where) that
//! extends `base.html`: head, inline CSS, readable on a phone, light and
//! dark, no external assets. askama escapes every value a template prints
//! with [`HtmlEscaper`]; only markup written in the templates is trusted.
//! A page may load scripts the worker serves (`/assets/...`): the layout
//! then tags them with the response's CSP nonce ([`Scripts`]), and
//! [`html_headers`] lets exactly those run.

mod account;
pub mod admin;
pub mod admin_accounts;
pub mod admin_clients;
mod consent;
mod error;
mod login;
mod logout;
mod passkey;

use std::fmt;

pub use account::{
    account_page, AccountPage, AddPasskey, ConsentRow, ConsentView, LinkRow, Notice, PasskeyRow, PasskeyView,
};
pub use consent::{consent_page, DocumentClient, Unverified};
pub use error::{error_page, unavailable_page};
pub use login::{login_page, LoginView, PasskeyRequest};
pub use logout::{logged_out_page, logout_page};
pub use passkey::{enroll_page, PASSKEY_SCRIPT};

/// A rendered page, and the nonce its script tags carry if it has any: the
/// endpoint sends it with `html_headers(page.script_nonce.as_deref())`, so
/// the header and the tags come from the same value.
#[derive(Debug)]
pub struct Page {
    pub html: String,
    pub script_nonce: Option<String>,
}

/// Scripts a page loads from the worker, and the CSP nonce that lets them
/// run. The nonce is fresh from the CSPRNG for every response ([`Scripts::fresh`]
/// is the only way to make one outside this module), so a nonce seen in one
/// page is of no use for running injected markup in another.
#[derive(Debug)]
pub struct Scripts {
    nonce: String,
    /// Paths under `/assets/`, served by the worker itself.
    srcs: &'static [&'static str],
}

impl Scripts {
    /// `srcs` with a new 128-bit nonce (CSP3 §6.7.2 asks for at least 128
    /// bits), base64url, which the CSP `base64-value` grammar allows.
    pub fn fresh(srcs: &'static [&'static str]) -> Self {
        Scripts {
            nonce: crate::random::id(),
            srcs,
        }
    }
}

/// What every page template is besides its markup: the scripts it loads
/// (`base.html` tags them; none by default).
trait PageTemplate: askama::Template {
    fn scripts(&self) -> Option<&Scripts> {
        None
    }
}

/// Renders `template` into the [`Page`] an endpoint sends.
fn render(template: &impl PageTemplate) -> Page {
    Page {
        // A template writes into a String with filters that cannot fail,
        // so rendering has no error to report.
        html: template.render().expect("page templates render infallibly"),
        script_nonce: template.scripts().map(|s| s.nonce.clone()),
    }
}

/// Headers every HTML page is sent with; the endpoint sets them.
///
/// The CSP deliberately has no `form-action` directive: Chromium applies
/// `form-action` to the redirects that follow a form submission, so
/// `form-action 'self'` would block the 302/303 from `POST /authorize` to
/// the client's redirect URI. `frame-ancestors 'none'` (and
/// `X-Frame-Options` for older browsers) keeps the pages out of frames,
/// which is what stops clickjacking of the consent buttons.
///
/// With a `script_nonce` (the page's [`Page::script_nonce`]) the CSP adds
/// `script-src 'nonce-…'`: only the page's own tags run, never inline code
/// or handlers. Without one there is no `script-src` at all and
/// `default-src 'none'` forbids every script. Either way `connect-src`
/// falls back to `default-src 'none'`, so a script cannot `fetch`.
pub fn html_headers(script_nonce: Option<&str>) -> [(&'static str, String); 6] {
    let mut csp = String::from("default-src 'none'; ");
    if let Some(nonce) = script_nonce {
        csp.push_str(&format!("script-src 'nonce-{nonce}'; "));
    }
    csp.push_str("style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
    [
        ("content-type", "text/html; charset=utf-8".into()),
        ("content-security-policy", csp),
        ("x-frame-options", "DENY".into()),
        ("x-content-type-options", "nosniff".into()),
        ("referrer-policy", "no-referrer".into()),
        ("cache-control", "no-store".into()),
    ]
}

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

/// The escaper of every `.html` template (askama.toml): makes a value safe
/// as HTML text and as a double- or single-quoted attribute value by
/// replacing `& < > " '`. askama's own escaper would write numeric
/// references (`&#34;`); this one keeps the named ones the pages use.
#[derive(Debug, Clone, Copy)]
struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut plain = 0;
        // Byte-wise is safe: these are ASCII, and no byte of a multi-byte
        // UTF-8 sequence is ASCII.
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&s[plain..])
    }
}

const PRODUCT: &str = "edge-oidc";

/// A day as `2026-12-02` (UTC), from unix seconds.
pub fn date(secs: u64) -> String {
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A moment as `2026-12-02 06:13:04 UTC`, from unix seconds.
pub fn date_time(secs: u64) -> String {
    let s = secs % 86_400;
    format!("{} {:02}:{:02}:{:02} UTC", date(secs), s / 3600, s / 60 % 60, s % 60)
}

/// Helpers shared by the page tests.
#[cfg(test)]
mod test_support {
    use super::FormContext;
    use crate::protocol::passkey::CreationOptions;

    /// The options every passkey creation form test renders.
    pub fn creation_options() -> CreationOptions {
        CreationOptions {
            challenge: "Y2hhbA".into(),
            rp_id: "id.example.com".into(),
            rp_name: "id.example.com".into(),
            user_id: "c3Vi".into(),
            user_name: "ada".into(),
            user_display_name: HOSTILE.into(),
            exclude: vec!["k1".into(), "k2".into()],
        }
    }

    /// A rendered passkey creation form (forms.html `passkey_create_form`)
    /// of [`creation_options`], from its opening tag on: hidden for the
    /// script, every option in its data attributes, escaped.
    pub fn assert_creation_form(form: &str) {
        let tag = &form[..form.find('>').unwrap()];
        for attr in [
            "data-webauthn=\"create\"",
            " hidden",
            "data-challenge=\"Y2hhbA\"",
            "data-rp-id=\"id.example.com\"",
            "data-rp-name=\"id.example.com\"",
            "data-user-id=\"c3Vi\"",
            "data-user-name=\"ada\"",
            "data-exclude=\"k1 k2\"",
        ] {
            assert!(tag.contains(attr), "{attr} missing in {tag}");
        }
        assert!(tag.contains(&format!("data-user-display-name=\"{HOSTILE_ESCAPED}\"")));
        assert!(form.contains("<input type=\"hidden\" name=\"credential\" value=\"\">"));
        assert!(form.contains("<label for=\"passkey-name\">") && form.contains("name=\"name\""));
        assert!(form.contains("data-passkey-status role=\"status\""));
    }

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

    fn escape(s: &str) -> String {
        let mut out = String::new();
        askama::filters::Escaper::write_escaped_str(&HtmlEscaper, &mut out, s).unwrap();
        out
    }

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

    fn login<'a>(form: &'a FormContext<'a>, error: Option<&'a str>) -> LoginView<'a> {
        LoginView {
            form,
            client_name: "App",
            login_hint: Some("x"),
            error,
            passkey: None,
            passkey_required: false,
            providers: &[],
        }
    }

    fn all_pages() -> Vec<(&'static str, String)> {
        let f = form();
        let scopes = [("openid".to_string(), "Confirm who you are".to_string())];
        vec![
            ("login", login_page(&login(&f, None)).html),
            (
                "login with error",
                login_page(&login(&f, Some("Incorrect username or password"))).html,
            ),
            ("consent", consent_page(&f, "App", None, "alice", &scopes, None).html),
            ("error", error_page("Something went wrong", "Try again.").html),
            ("unavailable", unavailable_page().html),
            ("logout", logout_page(&f, Some("App")).html),
            ("logged out", logged_out_page().html),
            ("account", account::tests::render_with("Ada", None, None)),
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
        let headers = html_headers(None);
        let get = |k: &str| headers.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
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

    fn csp<'h>(headers: &'h [(&str, String)]) -> &'h str {
        let csp = headers.iter().find(|(n, _)| *n == "content-security-policy");
        &csp.expect("a CSP header").1
    }

    #[test]
    fn a_nonce_adds_script_src_and_changes_nothing_else() {
        let plain = html_headers(None);
        let with = html_headers(Some("n0nce-_X"));
        for ((name, a), (same_name, b)) in plain.iter().zip(&with) {
            assert_eq!(name, same_name);
            if *name != "content-security-policy" {
                assert_eq!(a, b, "{name}");
            }
        }
        assert_eq!(
            csp(&with),
            "default-src 'none'; script-src 'nonce-n0nce-_X'; style-src 'unsafe-inline'; \
             img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(csp(&with).replace("script-src 'nonce-n0nce-_X'; ", ""), csp(&plain));
    }

    /// A page that loads scripts, as the passkey sign-in will.
    #[derive(askama::Template)]
    #[template(
        ext = "html",
        source = "{% extends \"base.html\" %}{% block title %}Scripted{% endblock %}\
                  {% block content %}<h1>Scripted</h1>\n{% endblock %}"
    )]
    struct Scripted {
        scripts: Scripts,
    }

    impl PageTemplate for Scripted {
        fn scripts(&self) -> Option<&Scripts> {
            Some(&self.scripts)
        }
    }

    #[test]
    fn script_tags_carry_the_nonce_the_headers_allow() {
        let page = render(&Scripted {
            scripts: Scripts {
                nonce: "abc123".into(),
                srcs: &["/assets/one.js", "/assets/two.js?v=\"<x>"],
            },
        });
        assert_eq!(page.script_nonce.as_deref(), Some("abc123"));
        let head = &page.html[..page.html.find("</head>").unwrap()];
        assert!(
            head.ends_with(
                "</style>\n<script src=\"/assets/one.js\" nonce=\"abc123\" defer></script>\n\
                 <script src=\"/assets/two.js?v=&quot;&lt;x&gt;\" nonce=\"abc123\" defer></script>\n"
            ),
            "{head}"
        );
        assert_eq!(page.html.matches("<script").count(), 2);
        let headers = html_headers(page.script_nonce.as_deref());
        assert!(csp(&headers).contains("script-src 'nonce-abc123';"));
    }

    #[test]
    fn pages_without_scripts_have_neither_tags_nor_nonce() {
        let f = form();
        for page in [login_page(&login(&f, None)), error_page("t", "m"), logged_out_page()] {
            assert_eq!(page.script_nonce, None);
            assert!(!page.html.contains("<script"));
        }
    }

    #[test]
    fn every_response_gets_its_own_128_bit_nonce() {
        let a = Scripts::fresh(&["/assets/a.js"]);
        let b = Scripts::fresh(&["/assets/a.js"]);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 22, "16 bytes, base64url without padding");
        assert!(a
            .nonce
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
