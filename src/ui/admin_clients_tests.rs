//! The Clients pages' tests: errors by field, labels, the secret page, the list.

use super::super::admin::tests::shell;
use super::super::test_support::*;
use super::*;
use crate::protocol::client::parse_metadata_fields;
use crate::protocol::params::parse_form;

fn summary() -> ClientSummary<'static> {
    ClientSummary {
        client_id: "c-1",
        name: HOSTILE,
        confidential: true,
        method: "client_secret_basic",
        registered: 1_764_633_600,
        self_registered: false,
        path: "/admin/clients/c-1",
    }
}

fn post() -> FormContext<'static> {
    FormContext {
        action: "/admin/clients/new",
        ..form()
    }
}

/// The form page for `body` as posted, with the parser's errors.
fn refused(body: &str) -> String {
    let form = ClientForm::from_params(&parse_form(body).unwrap());
    let errors = parse_metadata_fields(&form.to_json(None)).unwrap_err().0;
    client_page(
        shell(None),
        &ClientFormView {
            client: None,
            form: &form,
            errors: &errors,
            post: post(),
        },
    )
    .html
}

/// The tag of the form control with id `id`.
fn control<'h>(html: &'h str, id: &str) -> &'h str {
    let at = html.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
    let start = html[..at].rfind('<').unwrap();
    &html[start..start + html[start..].find('>').unwrap() + 1]
}

#[test]
fn each_error_is_next_to_its_field_and_tied_to_it() {
    let html = refused("client_name=Shop&redirect_uris=http%3A%2F%2Fapp.example%2Fcb&logo_uri=x&scope=a+a");
    let redirect = control(&html, "redirect_uris");
    assert!(redirect.starts_with("<textarea"), "{redirect}");
    assert!(redirect.contains("aria-invalid=\"true\""), "{redirect}");
    assert!(
        redirect.contains("aria-describedby=\"redirect_uris-hint redirect_uris-error\""),
        "{redirect}"
    );
    let message =
        "redirect_uris: &quot;http://app.example/cb&quot; must use https (http is allowed only on loopback hosts)";
    assert!(html.contains(&format!(
        "<p class=\"field-error\" id=\"redirect_uris-error\">{message}</p>"
    )));
    // The error sits between the field's label and the field.
    let label = html.find("<label for=\"redirect_uris\">").unwrap();
    let error = html.find("id=\"redirect_uris-error\"").unwrap();
    assert!(label < error && error < html.find(redirect).unwrap());
    for id in ["logo_uri", "scope"] {
        assert!(control(&html, id).contains("aria-invalid=\"true\""), "{id}");
    }
    // The values typed are kept; valid fields are not marked.
    assert!(html.contains(">http://app.example/cb</textarea>"));
    let name = control(&html, "client_name");
    assert!(
        name.contains("value=\"Shop\"") && !name.contains("aria-invalid"),
        "{name}"
    );
    assert!(name.contains("aria-describedby=\"client_name-hint\""), "{name}");
    // A summary first, its entries leading to the fields, in order.
    let summary = &html[html.find("<div class=\"alert\" role=\"alert\"").unwrap()..];
    let summary = &summary[..summary.find("</div>").unwrap()];
    assert!(summary.contains("3 problems"), "{summary}");
    let links: Vec<_> = summary
        .split("href=\"#")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(links, ["scope", "redirect_uris", "logo_uri"]);
    assert!(
        html.find("role=\"alert\"").unwrap()
            < html
                .find("<form method=\"post\" action=\"/admin/clients/new\"")
                .unwrap()
    );
}

#[test]
fn grant_type_errors_belong_to_their_group() {
    let html = refused("redirect_uris=https%3A%2F%2Fa.example%2Fcb&response_type_code=on");
    let group = control(&html, "grant_types");
    assert!(group.starts_with("<fieldset"), "{group}");
    assert!(group.contains("aria-describedby=\"grant_types-error\""), "{group}");
    assert!(html.contains("id=\"grant_types-error\">grant_types must not be empty</p>"));
    assert!(control(&html, "response_type_code").contains(" checked"));
    assert!(!control(&html, "grant_type_authorization_code").contains(" checked"));
}

#[test]
fn the_new_form_offers_every_member_with_a_label() {
    let form = ClientForm::new_client();
    let html = client_page(
        shell(None),
        &ClientFormView {
            client: None,
            form: &form,
            errors: &[],
            post: post(),
        },
    )
    .html;
    assert!(!html.contains("role=\"alert\"") && !html.contains("aria-invalid=\"true\""));
    assert!(html.contains("<h1>New client</h1>"));
    assert_hidden_fields(&html.replace("/admin/clients/new", "/authorize"), "save");
    for name in [
        "client_name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_type_authorization_code",
        "grant_type_refresh_token",
        "grant_type_client_credentials",
        "response_type_code",
        "token_endpoint_auth_method",
        "application_type",
        "scope",
        "id_token_signed_response_alg",
        "default_acr_values",
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "contacts",
        "allowed_cors_origins",
        "resource_server",
        "limit_resources",
        "allowed_resources",
    ] {
        let tag = control(&html, name);
        assert!(tag.contains(&format!("name=\"{name}\"")), "{tag}");
        let labelled = html.contains(&format!("<label for=\"{name}\">"))
            || html[..html.find(tag).unwrap()].ends_with("<label class=\"check\">");
        assert!(labelled, "{name} has no label");
    }
    assert!(control(&html, "grant_type_authorization_code").contains(" checked"));
    assert!(html.contains("<option value=\"client_secret_basic\" selected>"));
    assert!(html.contains("<option value=\"RS256\" selected>"));
    assert!(!html.contains("Rotate the secret"), "nothing to rotate yet");
}

#[test]
fn a_registered_client_shows_what_it_is_and_where_to_rotate_or_delete() {
    let form = ClientForm::new_client();
    let page = ClientFormView {
        client: Some(summary()),
        form: &form,
        errors: &[],
        post: FormContext {
            action: "/admin/clients/c-1",
            ..form_ctx()
        },
    };
    let html = client_page(shell(Some(Notice::Done("Saved."))), &page).html;
    assert!(!html.contains(HOSTILE));
    assert!(html.contains(&format!("<h1>{HOSTILE_ESCAPED}</h1>")));
    assert!(html.contains("<code>c-1</code>"));
    assert!(html.contains("confidential (client_secret_basic)"));
    assert!(html.contains("2025-12-02"));
    assert!(html.contains("<a href=\"/admin/clients/c-1/secret\">Rotate the secret</a>"));
    assert!(html.contains("<a href=\"/admin/clients/c-1/delete\">Delete this client</a>"));
    assert!(html.contains("<form method=\"post\" action=\"/admin/clients/c-1\">"));
    let public = ClientFormView {
        client: Some(ClientSummary {
            confidential: false,
            method: "none",
            ..summary()
        }),
        ..page
    };
    let html = client_page(shell(None), &public).html;
    assert!(html.contains("public (none)") && !html.contains("/secret\""));
}

fn form_ctx() -> FormContext<'static> {
    form()
}

#[test]
fn the_secret_is_shown_once_selectable_with_a_copy_button_for_the_script() {
    let page = issued_page(
        shell(None),
        &IssuedView {
            title: "Client registered",
            lead: "Give these to the client.",
            client_id: "c-1",
            secret: Some("s3cr\"t"),
            next: "/admin/clients/c-1",
        },
    );
    let nonce = page.script_nonce.expect("the copy script's nonce");
    let html = page.html;
    assert!(html.contains(&format!(
        "<script src=\"/assets/admin.js\" nonce=\"{nonce}\" defer></script>"
    )));
    let secret = control(&html, "client_secret");
    assert!(
        secret.contains("value=\"s3cr&quot;t\"") && secret.contains(" readonly"),
        "{secret}"
    );
    assert!(html.contains("<label for=\"client_secret\">"));
    assert!(html.contains("<button type=\"button\" data-copy=\"client_secret\" hidden>"));
    assert!(html.contains("<button type=\"button\" data-copy=\"client_id\" hidden>"));
    assert!(html.contains("only time"), "says it is shown once");
    assert!(html.contains("<a href=\"/admin/clients/c-1\">"));
    let public = issued_page(
        shell(None),
        &IssuedView {
            secret: None,
            title: "t",
            lead: "l",
            client_id: "c-2",
            next: "/admin/clients/c-2",
        },
    )
    .html;
    assert!(!public.contains("client_secret") && public.contains("public client"));
}

#[test]
fn the_list_shows_each_client_and_pages_on() {
    let rows = [
        ClientRow {
            client_id: "c-1".into(),
            name: Some(HOSTILE.into()),
            method: Some("none".into()),
            created: Some(1_764_633_600),
        },
        ClientRow {
            client_id: "c/2".into(),
            name: None,
            method: None,
            created: None,
        },
    ];
    let view = ClientsView {
        rows: &rows,
        query: HOSTILE,
        query_encoded: "q%3C".into(),
        next: Some("Mi4"),
    };
    let html = clients_page(shell(None), &view).html;
    assert!(!html.contains(HOSTILE));
    assert!(html.contains("<a href=\"/admin/clients/c-1\">&lt;script&gt;"));
    assert!(
        html.contains("<a href=\"/admin/clients/c%2F2\">c/2</a>"),
        "ids are path segments"
    );
    assert!(html.contains("<td data-label=\"Kind\">public</td>"));
    assert!(html.contains("<td data-label=\"Created\">2025-12-02</td>"));
    assert!(html.contains("href=\"/admin/clients?q=q%3C&amp;cursor=Mi4\""));
    assert!(html.contains("<a href=\"/admin/clients/new\">"));
    assert!(
        html.contains(&format!("value=\"{HOSTILE_ESCAPED}\"")),
        "the search is kept"
    );
    let empty = ClientsView {
        rows: &[],
        query: "",
        query_encoded: String::new(),
        next: None,
    };
    assert!(clients_page(shell(None), &empty).html.contains("No clients yet."));
}
