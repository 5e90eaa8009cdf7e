//! The console's Clients section (`/admin/clients`): the list, the form
//! that registers or edits a client (the RFC 7591 members, with each
//! refusal of the registration parser next to its field), and the page
//! that shows a new secret once. Deleting and rotating ask through the
//! console's confirmation page (`admin::confirm_page`).

use askama::Template;

use super::admin::{Notice, Shell};
use super::{render, FormContext, Page, PageTemplate, Scripts};
use crate::protocol::client::Invalid;
use crate::protocol::client_form::ClientForm;

/// The copy buttons of the page that shows a secret.
pub const ADMIN_SCRIPT: &[&str] = &["/assets/admin.js"];

/// A client as the list shows it (from its KV labels: a record written
/// before it had any shows its id only).
pub struct ClientRow {
    pub client_id: String,
    pub name: Option<String>,
    /// `token_endpoint_auth_method`.
    pub method: Option<String>,
    pub created: Option<u64>,
}

/// The console path of client `client_id`: `/admin/clients/{id}`, the id
/// as one path segment.
pub fn client_path(client_id: &str) -> String {
    let segment: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("/admin/clients/{segment}")
}

impl ClientRow {
    pub fn path(&self) -> String {
        client_path(&self.client_id)
    }

    pub fn created_on(&self) -> Option<String> {
        self.created.map(super::date)
    }

    pub fn kind(&self) -> &'static str {
        match self.method.as_deref() {
            Some("none") => "public",
            Some(_) => "confidential",
            None => "",
        }
    }
}

pub struct ClientsView<'a> {
    pub rows: &'a [ClientRow],
    pub query: &'a str,
    /// `query` for the next page's link.
    pub query_encoded: String,
    pub next: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
struct Clients<'a> {
    shell: Shell<'a>,
    page: &'a ClientsView<'a>,
}

impl PageTemplate for Clients<'_> {}

pub fn clients_page(shell: Shell, page: &ClientsView) -> Page {
    render(&Clients { shell, page })
}

/// What the edit page says about a registered client above its form.
pub struct ClientSummary<'a> {
    pub client_id: &'a str,
    /// Its name, or its id when it has none.
    pub name: &'a str,
    pub confidential: bool,
    pub method: &'static str,
    pub registered: u64,
    /// Registered by itself (open registration), not by an administrator.
    pub self_registered: bool,
    /// The client's own pages: rotate the secret, delete.
    pub path: &'a str,
}

/// The form of a new client (`client: None`) or of a registered one.
pub struct ClientFormView<'a> {
    pub client: Option<ClientSummary<'a>>,
    pub form: &'a ClientForm,
    /// Why the last post was refused, in the parser's order.
    pub errors: &'a [Invalid],
    pub post: FormContext<'a>,
}

/// What a row of the client form is: the start of a group (a fieldset,
/// its legend the row's label), its end, or a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Group,
    End,
    Text,
    Url,
    /// A textarea, one entry a line.
    Lines,
    /// A select of the row's options.
    Select,
    Check,
}

/// One row of the client form as the template draws it: every field is
/// drawn by the same markup, so the page is one loop over these.
pub struct Row<'a> {
    pub kind: Kind,
    /// The field's name and id (the member it stands for), or the group's id.
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: &'a str,
    pub checked: bool,
    pub options: &'static [(&'static str, &'static str)],
    pub error: Option<&'a str>,
    /// The ids of its hint and error, for `aria-describedby`.
    pub described_by: String,
}

impl Row<'_> {
    /// The element of a field (none for a group's start or end, or a
    /// checkbox, which the template draws apart).
    pub fn tag(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Text | Kind::Url => Some("input"),
            Kind::Lines => Some("textarea"),
            Kind::Select => Some("select"),
            Kind::Group | Kind::End | Kind::Check => None,
        }
    }

    pub fn is(&self, kind: &str) -> bool {
        let name = match self.kind {
            Kind::Group => "group",
            Kind::End => "end",
            Kind::Text => "text",
            Kind::Url => "url",
            Kind::Lines => "lines",
            Kind::Select => "select",
            Kind::Check => "check",
        };
        name == kind
    }
}

use Kind::{Check, End, Group, Lines, Select, Text, Url};

/// The options of the form's selects: value, words.
const AUTH_METHODS: [(&str, &str); 3] = [
    (
        "client_secret_basic",
        "client_secret_basic: confidential, secret in HTTP Basic",
    ),
    (
        "client_secret_post",
        "client_secret_post: confidential, secret in the form body",
    ),
    ("none", "none: a public client (no secret; PKCE)"),
];
const APPLICATION_TYPES: [(&str, &str); 2] = [
    ("web", "web: a web application"),
    ("native", "native: an app on a device (private-use URI schemes allowed)"),
];
const ALGS: [(&str, &str); 3] = [("RS256", "RS256"), ("ES256", "ES256"), ("EdDSA", "EdDSA")];

/// The form, in order: (kind, name, label, hint, options).
type Spec = (
    Kind,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const FORM: &[Spec] = &[
    (Group, "", "About the client", "", &[]),
    (
        Text,
        "client_name",
        "Name",
        "Shown to people when they sign in and consent.",
        &[],
    ),
    (Url, "client_uri", "Home page", "", &[]),
    (Url, "logo_uri", "Logo", "", &[]),
    (Url, "policy_uri", "Privacy policy", "", &[]),
    (Url, "tos_uri", "Terms of service", "", &[]),
    (
        Lines,
        "contacts",
        "Contacts",
        "The people responsible for it, one e-mail address a line.",
        &[],
    ),
    (End, "", "", "", &[]),
    (Group, "", "Where people are sent back", "", &[]),
    (Select, "application_type", "Application type", "", &APPLICATION_TYPES),
    (
        Lines,
        "redirect_uris",
        "Redirect URIs",
        "One a line, compared exactly: https, or http on 127.0.0.1, [::1] or localhost.",
        &[],
    ),
    (
        Lines,
        "post_logout_redirect_uris",
        "Post-logout redirect URIs",
        "Where signing out may send people back to, one a line.",
        &[],
    ),
    (
        Lines,
        "allowed_cors_origins",
        "Allowed CORS origins",
        "Origins besides those of the redirect URIs whose pages may call /token, /revoke and /userinfo, \
         one a line (https://app.example).",
        &[],
    ),
    (End, "", "", "", &[]),
    (Group, "", "Tokens", "", &[]),
    (
        Select,
        "token_endpoint_auth_method",
        "Client authentication",
        "How the client proves itself at /token; none makes it a public client.",
        &AUTH_METHODS,
    ),
    (Group, "grant_types", "Grant types", "", &[]),
    (
        Check,
        "grant_type_authorization_code",
        "authorization_code: people sign in through a browser",
        "",
        &[],
    ),
    (
        Check,
        "grant_type_refresh_token",
        "refresh_token: new tokens without signing in again",
        "",
        &[],
    ),
    (
        Check,
        "grant_type_client_credentials",
        "client_credentials: the client on its own behalf, no person",
        "",
        &[],
    ),
    (End, "", "", "", &[]),
    (Group, "response_types", "Response types", "", &[]),
    (
        Check,
        "response_type_code",
        "code: the authorization code flow (goes with authorization_code)",
        "",
        &[],
    ),
    (End, "", "", "", &[]),
    (
        Text,
        "scope",
        "Scope",
        "The scopes it may be granted, separated by spaces; empty allows every scope offered.",
        &[],
    ),
    (
        Select,
        "id_token_signed_response_alg",
        "ID token signing algorithm",
        "",
        &ALGS,
    ),
    (
        Text,
        "default_acr_values",
        "Default acr values",
        "Asked for when a request names none, separated by spaces.",
        &[],
    ),
    (End, "", "", "", &[]),
    (Group, "", "Privileges (only an administrator sets these)", "", &[]),
    (
        Check,
        "resource_server",
        "Resource server: may introspect tokens issued to other clients",
        "",
        &[],
    ),
    (
        Check,
        "limit_resources",
        "Limit the resources (RFC 8707) it may get tokens for to those listed below",
        "",
        &[],
    ),
    (
        Lines,
        "allowed_resources",
        "Allowed resources",
        "One a line, used only when limited; none listed allows none.",
        &[],
    ),
    (End, "", "", "", &[]),
];

impl ClientFormView<'_> {
    /// The error of the field `name`, if it has one.
    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == Some(name))
            .map(|e| e.error.description.as_ref())
    }

    /// The form's rows with their values and errors.
    pub fn rows(&self) -> Vec<Row<'_>> {
        FORM.iter()
            .map(|&(kind, name, label, hint, options)| {
                let error = self.error(name).filter(|_| !name.is_empty());
                let ids = [
                    (!hint.is_empty()).then(|| format!("{name}-hint")),
                    error.map(|_| format!("{name}-error")),
                ];
                Row {
                    kind,
                    name,
                    label,
                    hint,
                    value: self.form.value(name),
                    checked: kind == Check && self.form.is_checked(name),
                    options,
                    error,
                    described_by: ids.into_iter().flatten().collect::<Vec<_>>().join(" "),
                }
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "admin_client.html")]
struct ClientPage<'a> {
    shell: Shell<'a>,
    page: &'a ClientFormView<'a>,
}

impl PageTemplate for ClientPage<'_> {}

impl ClientPage<'_> {
    fn date(&self, secs: &u64) -> String {
        super::date(*secs)
    }
}

pub fn client_page(shell: Shell, page: &ClientFormView) -> Page {
    render(&ClientPage { shell, page })
}

/// What was just issued and is shown this once: the client's id and, for
/// a confidential client, its secret.
pub struct IssuedView<'a> {
    pub title: &'a str,
    pub lead: &'a str,
    pub client_id: &'a str,
    pub secret: Option<&'a str>,
    /// The client's page.
    pub next: &'a str,
}

#[derive(Template)]
#[template(path = "admin_client_secret.html")]
struct IssuedPage<'a> {
    shell: Shell<'a>,
    page: &'a IssuedView<'a>,
    scripts: Scripts,
}

impl PageTemplate for IssuedPage<'_> {
    fn scripts(&self) -> Option<&Scripts> {
        Some(&self.scripts)
    }
}

pub fn issued_page(shell: Shell, page: &IssuedView) -> Page {
    render(&IssuedPage {
        shell,
        page,
        scripts: Scripts::fresh(ADMIN_SCRIPT),
    })
}

/// The notice of a client's page after `?done=`: fixed words.
pub fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => "The client has been saved. Its changes apply at once here, elsewhere within a minute or so.",
        "deleted" => "The client has been deleted. Its tokens no longer work.",
        _ => return None,
    })
}

/// A notice from [`done_words`].
pub fn done_notice(done: Option<&str>) -> Option<Notice<'static>> {
    done.and_then(done_words).map(Notice::Done)
}

#[cfg(test)]
#[path = "admin_clients_tests.rs"]
mod tests;
