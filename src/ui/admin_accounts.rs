//! The console's Users section (`/admin/accounts`): the list with its
//! search, the new-user form, a user's page (details, claims, role,
//! sessions, grants), the password reset form and the one-time enrollment
//! link. Field errors are shown at their fields and tied to them
//! (`aria-describedby`), with what was typed kept.

use askama::Template;

use super::account::ConsentRow;
use super::admin::{Notice, Shell};
use super::{render, FormContext, Page, PageTemplate};
use crate::protocol::params::decode_path_segment;
use crate::protocol::user_form::{other_claims_text, FieldErrors, CLAIM_FIELDS, EMAIL_VERIFIED, OTHER_CLAIMS};
use serde_json::{Map, Value};

/// The label, input id and input type of each of [`CLAIM_FIELDS`].
const CLAIM_INPUTS: [(&str, &str, &str); 4] = [
    ("Name", "claim-name", "text"),
    ("Given name", "claim-given-name", "text"),
    ("Family name", "claim-family-name", "text"),
    ("E-mail address", "claim-email", "email"),
];

/// The path of `username`'s page. `new` would be the new-user form's: it
/// is written encoded ([`split_user_path`] decodes it).
pub fn user_path(username: &str) -> String {
    match username {
        "new" => "/admin/accounts/%6Eew".to_owned(),
        _ => format!("/admin/accounts/{username}"),
    }
}

/// What follows `/admin/accounts` on a user's path, `/{username}{/action}`:
/// the username (percent-decoded) and the action (`""` or `/…`).
pub fn split_user_path(rest: &str) -> Option<(String, &str)> {
    let rest = rest.strip_prefix('/')?;
    let (segment, action) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    Some((decode_path_segment(segment)?, action))
}

/// What was done, said at the top of the page it leads back to
/// (`?done=<name>`): fixed words, so the query cannot put any on it.
const DONE: [(&str, &str); 10] = [
    ("created", "The user has been created."),
    ("claims", "The claims have been saved."),
    (
        "password",
        "The password has been reset: every session of the user has ended.",
    ),
    ("admin-granted", "The administrator role has been granted."),
    ("admin-revoked", "The administrator role has been revoked."),
    ("session", "The session has ended."),
    ("sessions", "Every session of the user has ended."),
    ("consent", "The app's access has been revoked."),
    (
        "grants",
        "Every grant of the user has been revoked, and their sessions have ended.",
    ),
    ("deleted", "The user has been deleted."),
];

/// The words of the `done` name `name`, if it is one.
pub fn done_words(name: &str) -> Option<&'static str> {
    DONE.iter().find(|(n, _)| *n == name).map(|(_, words)| *words)
}

/// A user as the list shows them (from the list's KV metadata).
pub struct UserRow {
    pub username: String,
    /// [`user_path`] of the username.
    pub path: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

pub struct UserList<'a> {
    pub rows: &'a [UserRow],
    pub query: &'a str,
    /// `query` for the next page's link.
    pub query_encoded: String,
    pub next: Option<&'a str>,
}

/// The claims fields as the form shows them: what was typed, or what the
/// account holds.
pub struct ClaimValues {
    /// The value of each of [`CLAIM_FIELDS`].
    pub named: [String; 4],
    pub email_verified: bool,
    /// The other claims' JSON text.
    pub other: String,
}

impl ClaimValues {
    /// What `claims` holds.
    pub fn of(claims: &Map<String, Value>) -> Self {
        ClaimValues {
            named: CLAIM_FIELDS.map(|n| claims.get(n).and_then(Value::as_str).unwrap_or_default().to_owned()),
            email_verified: claims.get(EMAIL_VERIFIED).and_then(Value::as_bool) == Some(true),
            other: other_claims_text(claims),
        }
    }

    /// What was posted (`get`: a posted field's value).
    pub fn posted<'p>(get: impl Fn(&str) -> Option<&'p str>) -> Self {
        ClaimValues {
            named: CLAIM_FIELDS.map(|n| get(n).unwrap_or_default().to_owned()),
            email_verified: get(EMAIL_VERIFIED).is_some(),
            other: get(OTHER_CLAIMS).unwrap_or_default().to_owned(),
        }
    }
}

/// One field of the section's forms: its label, input, hint and error
/// (tied to it), rendered by one function wherever a form has one.
#[derive(Template)]
#[template(path = "admin_accounts_field.html")]
pub struct Field<'a> {
    pub id: &'static str,
    pub name: &'static str,
    pub label: &'static str,
    /// The input's type.
    pub kind: &'static str,
    pub value: &'a str,
    /// Said under it; empty for nothing.
    pub hint: &'static str,
    pub error: Option<&'a str>,
    /// More of the input's attributes, written in this file (never a value).
    pub attributes: &'static str,
}

impl<'a> Field<'a> {
    /// The new-user form's username.
    pub fn username(value: &'a str, errors: &'a FieldErrors) -> Self {
        Field {
            id: "username",
            name: "username",
            label: "Username",
            kind: "text",
            value,
            hint: "Letters, digits and . _ @ + - (up to 64). It cannot be changed later.",
            error: errors.get("username"),
            attributes: " required maxlength=\"64\" autocomplete=\"off\"",
        }
    }

    /// A password field (never filled in again): optional on the new-user
    /// form, required on the reset form.
    pub fn password(required: bool, error: Option<&'a str>) -> Self {
        let (label, hint, attributes) = if required {
            (
                "New password",
                "At least 8 characters.",
                " required minlength=\"8\" maxlength=\"1024\" autocomplete=\"new-password\"",
            )
        } else {
            (
                "Password (optional)",
                "At least 8 characters. Without one the account signs in with a passkey only: \
                 you get a one-time link with which the person adds their first passkey.",
                " maxlength=\"1024\" autocomplete=\"new-password\"",
            )
        };
        Field {
            id: "password",
            name: "password",
            label,
            kind: "password",
            value: "",
            hint,
            error,
            attributes,
        }
    }
}

/// The claims part of a form: the named claims' fields, `email_verified`,
/// the JSON of the others, with the errors.
#[derive(Template)]
#[template(path = "admin_accounts_claims.html")]
pub struct ClaimsForm<'a> {
    pub values: &'a ClaimValues,
    pub errors: &'a FieldErrors,
}

impl<'a> ClaimsForm<'a> {
    pub fn inputs(&self) -> Vec<Field<'a>> {
        let (values, errors) = (self.values, self.errors);
        CLAIM_FIELDS
            .iter()
            .zip(CLAIM_INPUTS)
            .zip(&values.named)
            .map(|((name, (label, id, kind)), value)| Field {
                id,
                name,
                label,
                kind,
                value,
                hint: "",
                error: errors.get(name),
                attributes: " autocomplete=\"off\"",
            })
            .collect()
    }

    pub fn other_error(&self) -> Option<&'a str> {
        self.errors.get(OTHER_CLAIMS)
    }
}

pub struct NewUserView<'a> {
    pub form: FormContext<'a>,
    pub username: Field<'a>,
    pub password: Field<'a>,
    pub claims: ClaimsForm<'a>,
}

/// One of the user's sessions, with the form that ends it.
pub struct SessionRow<'a> {
    /// The session record's key (the hash of its id): what "End" posts.
    pub key: &'a str,
    pub signed_in: String,
    pub how: String,
    pub ends: String,
    pub end: FormContext<'a>,
}

/// Everything a user's page shows.
pub struct UserView<'a> {
    pub username: &'a str,
    /// [`user_path`] of the username.
    pub path: &'a str,
    pub sub: &'a str,
    pub created: String,
    pub updated: String,
    pub has_password: bool,
    pub admin: bool,
    /// The page is the administrator's own: their role cannot be revoked
    /// here, nor the account deleted.
    pub own: bool,
    /// Upstream providers linked to the account.
    pub links: Vec<&'a str>,
    pub claims_form: FormContext<'a>,
    pub claims: ClaimsForm<'a>,
    pub sessions: &'a [SessionRow<'a>],
    pub more_sessions: bool,
    pub end_all: FormContext<'a>,
    /// The apps allowed, each with the form that revokes its consent (as the
    /// account page's rows, whose form withdraws it).
    pub grants: &'a [ConsentRow<'a>],
    pub more_grants: bool,
    pub revoke_all: FormContext<'a>,
    pub enrollment: FormContext<'a>,
}

impl SessionRow<'_> {
    /// How the session signed in, in words: the RFC 8176 methods, or the
    /// upstream provider.
    pub fn how(amr: &[String], idp: Option<&str>) -> String {
        if let Some(idp) = idp {
            return format!("through {idp}");
        }
        let words: Vec<&str> = amr
            .iter()
            .map(|m| match m.as_str() {
                "pwd" => "password",
                "hwk" => "passkey (device-bound)",
                "swk" => "passkey (synced)",
                "user" => "user verified",
                other => other,
            })
            .collect();
        words.join(", ")
    }
}

pub struct PasswordView<'a> {
    pub username: &'a str,
    pub path: &'a str,
    pub form: FormContext<'a>,
    pub password: Field<'a>,
    pub revoke_grants: bool,
}

/// A one-time enrollment link, shown once: after creating a user without
/// a password, or when a new one was asked for.
pub struct LinkView<'a> {
    pub username: &'a str,
    pub path: &'a str,
    pub url: &'a str,
    pub expires: String,
    /// The account was just created.
    pub created: bool,
}

/// A form's opening tag and hidden fields (forms.html's `form_start`),
/// rendered by one function for every form of the section's pages.
#[derive(Template)]
#[template(
    source = "{% import \"forms.html\" as forms %}{{ forms::form_start(form, step) }}",
    ext = "html"
)]
pub struct Start<'a> {
    form: FormContext<'a>,
    step: &'static str,
}

/// The opening of `form`, posting `step` (for the templates).
pub fn start<'a>(form: &FormContext<'a>, step: &'static str) -> Start<'a> {
    Start { form: *form, step }
}

/// What a page of the section shows (each in a file of its own, included
/// by the one page template, so that the console's layout is compiled
/// once for the section, not once a page).
enum Body<'a> {
    List(&'a UserList<'a>),
    New(&'a NewUserView<'a>),
    User(&'a UserView<'a>),
    Password(&'a PasswordView<'a>),
    Link(&'a LinkView<'a>),
}

impl Body<'_> {
    fn title(&self) -> &str {
        match self {
            Body::List(_) => "Users",
            Body::New(_) => "New user",
            Body::User(page) => page.username,
            Body::Password(_) => "Reset password",
            Body::Link(_) => "Enrollment link",
        }
    }
}

#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct Users<'a> {
    shell: Shell<'a>,
    body: Body<'a>,
}

impl PageTemplate for Users<'_> {}

fn page(shell: Shell, body: Body) -> Page {
    render(&Users { shell, body })
}

pub fn users_page(shell: Shell, page: &UserList) -> Page {
    self::page(shell, Body::List(page))
}

pub fn new_user_page(shell: Shell, page: &NewUserView) -> Page {
    self::page(shell, Body::New(page))
}

pub fn user_page(shell: Shell, page: &UserView) -> Page {
    self::page(shell, Body::User(page))
}

pub fn password_page(shell: Shell, page: &PasswordView) -> Page {
    self::page(shell, Body::Password(page))
}

pub fn link_page(shell: Shell, page: &LinkView) -> Page {
    self::page(shell, Body::Link(page))
}

#[cfg(test)]
mod tests;
