//! A person-facing error: a title and a sentence, nothing internal and
//! nothing that links anywhere.

use askama::Template;

use super::{render, Page, PageTemplate};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl PageTemplate for ErrorPage<'_> {}

/// An error page with `title` as its heading and `message` below it. The
/// caller passes words meant for a person, never error detail.
pub fn error_page(title: &str, message: &str) -> Page {
    render(&ErrorPage { title, message })
}

/// The page for a person when storage could not be reached (503, with
/// `Retry-After`): nothing of theirs was used up, so the same step works
/// again once it is back.
pub fn unavailable_page() -> Page {
    error_page(
        "Briefly unavailable",
        "This service cannot complete your request right now. Wait a few seconds, then reload this page or go back and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn shows_title_and_message_without_forms_or_links() {
        let html = error_page("Unknown application", "This sign-in link is not valid.").html;
        assert!(html.contains("<title>Unknown application – edge-oidc</title>"));
        assert!(html.contains("<h1>Unknown application</h1>\n<p>This sign-in link is not valid.</p>"));
        for absent in ["<form", "<a ", "<button", "role=\"alert\""] {
            assert!(!html.contains(absent), "unexpected {absent}");
        }
    }

    #[test]
    fn the_unavailable_page_says_so_in_words_for_a_person() {
        let html = unavailable_page().html;
        assert!(html.contains("<h1>Briefly unavailable</h1>"));
        assert!(html.contains("Wait a few seconds"));
        assert!(!html.contains("temporarily_unavailable"));
    }

    #[test]
    fn escapes_title_and_message() {
        let html = error_page(HOSTILE, "say \"hi\" & 'bye'").html;
        assert!(!html.contains("<script>"));
        assert!(html.contains(&format!("<title>{HOSTILE_ESCAPED} – edge-oidc</title>")));
        assert!(html.contains(&format!("<h1>{HOSTILE_ESCAPED}</h1>")));
        assert!(html.contains("<p>say &quot;hi&quot; &amp; &#39;bye&#39;</p>"));
    }
}
