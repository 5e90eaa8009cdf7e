//! The enrollment page: an account's first passkey (or a replacement),
//! from a one-time link. The ceremony runs in /assets/passkey.js.

use askama::Template;

use super::{render, FormContext, Page, PageTemplate, Scripts};
use crate::protocol::passkey::CreationOptions;

/// The one script our pages load.
pub const PASSKEY_SCRIPT: &[&str] = &["/assets/passkey.js"];

#[derive(Template)]
#[template(path = "enroll.html")]
struct Enroll<'a> {
    form: &'a FormContext<'a>,
    options: &'a CreationOptions,
    error: Option<&'a str>,
    scripts: Scripts,
}

impl PageTemplate for Enroll<'_> {
    fn scripts(&self) -> Option<&Scripts> {
        Some(&self.scripts)
    }
}

/// The page that registers a passkey with `options` and posts it (`step=enroll`).
pub fn enroll_page(form: &FormContext, options: &CreationOptions, error: Option<&str>) -> Page {
    render(&Enroll {
        form,
        options,
        error,
        scripts: Scripts::fresh(PASSKEY_SCRIPT),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn carries_the_options_the_form_and_its_script_under_the_nonce() {
        let page = enroll_page(&form(), &creation_options(), None);
        let nonce = page.script_nonce.clone().expect("a nonce");
        let html = page.html;
        assert_hidden_fields_of(&html, "enroll");
        assert!(html.contains(&format!(
            "<script src=\"/assets/passkey.js\" nonce=\"{nonce}\" defer></script>"
        )));
        assert_creation_form(&html[html.find("<form").expect("the form")..]);
        assert!(html.contains("<noscript>"));
        assert!(!has_inline_handler(&html), "no inline handlers");
    }

    #[test]
    fn an_error_is_an_alert() {
        let html = enroll_page(
            &form(),
            &creation_options(),
            Some("That passkey could not be verified."),
        )
        .html;
        assert!(html.contains("role=\"alert\">That passkey could not be verified.</p>"));
    }

    /// Whether any attribute is an event handler (` on…=`).
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let name_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    /// The hidden fields of a ceremony form (which also carries data attributes).
    fn assert_hidden_fields_of(html: &str, step: &str) {
        for field in [
            format!("<input type=\"hidden\" name=\"step\" value=\"{step}\">"),
            "<input type=\"hidden\" name=\"handle\" value=\"h&quot;1\">".to_string(),
            "<input type=\"hidden\" name=\"csrf\" value=\"c&#39;2&amp;\">".to_string(),
        ] {
            assert!(html.contains(&field), "missing {field}");
        }
    }
}
