use super::super::admin::tests::shell;
use super::super::admin::Notice;
use super::super::test_support::*;
use super::*;
use crate::protocol::params::parse_form;
use crate::protocol::user_form::new_user_from_form;
use crate::ui::ConsentView;
use serde_json::json;

fn consent() -> ConsentView {
    ConsentView {
        client_id: "app-1".into(),
        name: HOSTILE.into(),
        host: None,
        scopes: vec!["Know who you are".into()],
        granted_at: 1_764_633_600,
    }
}

/// Every Users page, rendered with hostile values wherever a value goes.
fn pages() -> Vec<(&'static str, String)> {
    let rows = [UserRow {
        username: "ada".into(),
        path: user_path("ada"),
        name: Some(HOSTILE.into()),
        email: Some("ada@example.com".into()),
    }];
    let list = UserList {
        rows: &rows,
        query: HOSTILE,
        query_encoded: "q".into(),
        next: Some("Mi4"),
    };
    let values = ClaimValues::posted(|n| (n == "name").then_some(HOSTILE));
    let none = FieldErrors::default();
    let new = NewUserView {
        form: form(),
        username: Field::username(HOSTILE, &none),
        password: Field::password(false, None),
        claims: ClaimsForm {
            values: &values,
            errors: &none,
        },
    };
    let consent = consent();
    let sessions = [SessionRow {
        key: "h4sh",
        signed_in: "2026-12-02 06:13:04 UTC".into(),
        how: SessionRow::how(&["hwk".into(), "user".into()], None),
        ends: "2026-12-03 06:13:04 UTC".into(),
        end: form(),
    }];
    let grants = [ConsentRow {
        consent: &consent,
        withdraw: form(),
    }];
    let stored = ClaimValues::of(json!({"name": HOSTILE, "locale": HOSTILE}).as_object().unwrap());
    let user = UserView {
        username: "ada",
        path: "/admin/accounts/ada",
        sub: "s-1",
        created: "2026-12-01".into(),
        updated: "2026-12-02 06:13:04 UTC".into(),
        has_password: false,
        admin: true,
        own: false,
        links: vec!["acme"],
        claims_form: form(),
        claims: ClaimsForm {
            values: &stored,
            errors: &none,
        },
        sessions: &sessions,
        more_sessions: true,
        end_all: form(),
        grants: &grants,
        more_grants: false,
        revoke_all: form(),
        enrollment: form(),
    };
    let password = PasswordView {
        username: "ada",
        path: "/admin/accounts/ada",
        form: form(),
        password: Field::password(true, Some(HOSTILE)),
        revoke_grants: true,
    };
    let link = LinkView {
        username: "ada",
        path: "/admin/accounts/ada",
        url: "https://id.example.com/account/enroll?token=a&b",
        expires: "2026-12-09 06:13:04 UTC".into(),
        created: true,
    };
    vec![
        ("list", users_page(shell(None), &list).html),
        ("new", new_user_page(shell(Some(Notice::Failed(HOSTILE))), &new).html),
        ("user", user_page(shell(Some(Notice::Done("Done."))), &user).html),
        ("password", password_page(shell(None), &password).html),
        ("link", link_page(shell(None), &link).html),
    ]
}

#[test]
fn every_users_page_has_the_layout_and_escapes_what_it_shows() {
    for (name, html) in pages() {
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{name}");
        assert_eq!(html.matches("<h1>").count(), 1, "{name}: one h1");
        assert!(html.contains("<nav aria-label=\"Admin console\">"), "{name}");
        assert!(!html.contains("<script"), "{name}: no scripts");
        assert!(!html.contains(HOSTILE), "{name}: unescaped");
        for href in html.split("href=\"").skip(1) {
            assert!(href.starts_with("/admin") || href.starts_with('#'), "{name}: {href}");
        }
        // Every label names a field of the page.
        for label in html.split("<label for=\"").skip(1) {
            let id = &label[..label.find('"').unwrap()];
            assert!(html.contains(&format!(" id=\"{id}\"")), "{name}: label for {id}");
        }
    }
}

#[test]
fn the_list_links_each_user_and_the_next_page() {
    let html = &pages()[0].1;
    assert!(html.contains("<a href=\"/admin/accounts/ada\">ada</a>"));
    assert!(html.contains("ada@example.com"));
    assert!(
        html.contains(&format!("value=\"{HOSTILE_ESCAPED}\"")),
        "the search kept"
    );
    assert!(html.contains("href=\"/admin/accounts?q=q&amp;cursor=Mi4\" rel=\"next\""));
    assert!(!html.contains("href=\"/admin/users"), "never the JSON API's path");
    assert!(html.contains("aria-current=\"page\"") && html.contains(">Users</a>"));
}

#[test]
fn field_errors_are_shown_at_their_fields_and_tied_to_them() {
    let params = parse_form("username=no+spaces&password=short&name=Ada&claims=%5B1%5D").unwrap();
    let errors = new_user_from_form(&params).unwrap_err();
    let values = ClaimValues::posted(|n| params.get(n));
    let view = NewUserView {
        form: form(),
        username: Field::username(params.get("username").unwrap(), &errors),
        password: Field::password(false, errors.get("password")),
        claims: ClaimsForm {
            values: &values,
            errors: &errors,
        },
    };
    let html = new_user_page(shell(None), &view).html;
    assert_hidden_fields(&html, "create");
    for (id, message) in [
        (
            "username",
            "username must be 1 to 64 characters of letters, digits and . _ @ + -",
        ),
        ("password", "password must be 8 to 1024 characters long"),
        ("claims", "claims must be a JSON object"),
    ] {
        assert!(
            html.contains(&format!("<p class=\"field-error\" id=\"{id}-error\">{message}</p>")),
            "{id}"
        );
        let input = &html[html.find(&format!("id=\"{id}\"")).unwrap()..];
        let tag = &input[..input.find('>').unwrap()];
        assert!(tag.contains("aria-invalid=\"true\""), "{id}: {tag}");
        assert!(
            tag.contains(&format!("{id}-error\"")),
            "{id} described by its error: {tag}"
        );
    }
    // What was typed is kept, but never a password.
    assert!(html.contains("value=\"no spaces\""));
    assert!(html.contains("id=\"claim-name\" name=\"name\" type=\"text\" value=\"Ada\""));
    assert!(html.contains(">[1]</textarea>"));
    assert!(!html.contains("short"));
    assert_eq!(
        html.matches("aria-invalid=\"true\"").count(),
        3,
        "only the wrong fields"
    );
}

#[test]
fn the_user_page_offers_each_action_with_its_own_form() {
    let html = &pages()[2].1;
    for step in ["claims", "enrollment", "end", "end-all", "revoke", "revoke-all"] {
        assert_hidden_fields(html, step);
    }
    assert!(html.contains("<input type=\"hidden\" name=\"session\" value=\"h4sh\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"client_id\" value=\"app-1\">"));
    assert!(html.contains("passkey (device-bound), user verified"));
    assert!(html.contains("Only the first sessions are listed."));
    for link in ["/password", "/admin", "/delete"] {
        assert!(
            html.contains(&format!("<a href=\"/admin/accounts/ada{link}\">")),
            "{link}"
        );
    }
    assert!(html.contains("Revoke the administrator role"));
    // The stored claims: the named ones in their fields, the others as JSON.
    assert!(html.contains(&format!(
        "id=\"claim-name\" name=\"name\" type=\"text\" value=\"{HOSTILE_ESCAPED}\""
    )));
    assert!(html.contains(&format!(
        "&quot;locale&quot;: &quot;{}",
        HOSTILE_ESCAPED.replace('"', "&quot;")
    )));
    assert!(html.contains("none: signs in with a passkey only") && html.contains("acme"));
}

#[test]
fn one_s_own_page_offers_no_way_to_lock_oneself_out() {
    let none = FieldErrors::default();
    let values = ClaimValues::of(&Map::new());
    let view = UserView {
        username: "me",
        path: "/admin/accounts/me",
        sub: "s",
        created: String::new(),
        updated: String::new(),
        has_password: true,
        admin: true,
        own: true,
        links: vec![],
        claims_form: form(),
        claims: ClaimsForm {
            values: &values,
            errors: &none,
        },
        sessions: &[],
        more_sessions: false,
        end_all: form(),
        grants: &[],
        more_grants: false,
        revoke_all: form(),
        enrollment: form(),
    };
    let html = user_page(shell(None), &view).html;
    assert!(!html.contains("/admin/accounts/me/admin\"") && !html.contains("/admin/accounts/me/delete\""));
    assert!(html.contains("another administrator can revoke your role"));
    assert!(html.contains("No active sessions.") && html.contains("has not allowed any apps"));
}

#[test]
fn the_password_form_keeps_the_choice_and_ties_its_error() {
    let html = &pages()[3].1;
    assert_hidden_fields(html, "password");
    assert!(html.contains("name=\"revoke_grants\" value=\"on\" checked"));
    assert!(html.contains(&format!(
        "<p class=\"field-error\" id=\"password-error\">{HOSTILE_ESCAPED}</p>"
    )));
    assert!(html.contains("<button type=\"submit\" class=\"danger\">Reset password</button>"));
}

#[test]
fn the_enrollment_link_is_shown_once_escaped() {
    let html = &pages()[4].1;
    assert!(html.contains("value=\"https://id.example.com/account/enroll?token=a&amp;b\" readonly"));
    assert!(html.contains("User ada created"));
}

#[test]
fn a_user_path_names_the_user_and_the_action() {
    assert_eq!(split_user_path("/ada"), Some(("ada".into(), "")));
    assert_eq!(split_user_path("/ada/sessions"), Some(("ada".into(), "/sessions")));
    assert_eq!(split_user_path("/a%40b.c/delete"), Some(("a@b.c".into(), "/delete")));
    assert_eq!(split_user_path("ada"), None);
    assert_eq!(split_user_path("/"), None);
    // The user called "new" has a page of their own, apart from the form.
    assert_eq!(user_path("new"), "/admin/accounts/%6Eew");
    let rest = user_path("new").strip_prefix("/admin/accounts").unwrap().to_owned();
    assert_eq!(split_user_path(&rest), Some(("new".into(), "")));
    assert_eq!(user_path("a@b.c"), "/admin/accounts/a@b.c");
}

#[test]
fn done_words_are_fixed() {
    assert_eq!(done_words("deleted"), Some("The user has been deleted."));
    assert_eq!(done_words("<script>"), None);
    assert!(DONE.iter().all(|(n, w)| done_words(n) == Some(w)));
}

#[test]
fn how_a_session_signed_in_in_words() {
    assert_eq!(SessionRow::how(&["pwd".into()], None), "password");
    assert_eq!(
        SessionRow::how(&["swk".into(), "user".into()], None),
        "passkey (synced), user verified"
    );
    assert_eq!(SessionRow::how(&["mfa".into()], Some("acme")), "through acme");
}
