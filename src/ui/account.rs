//! The account page (`/account`): who is signed in, their passkeys, their
//! password, the apps they have allowed, and signing out everywhere. Every
//! form posts to its own path with its own sealed handle and CSRF token.

use super::{escape, page, FormContext};

/// One of the person's passkeys, as the passkeys section lists it.
pub struct PasskeyView {
    /// The credential id, base64url: what the rename and remove forms post
    /// as `credential_id`.
    pub id: String,
    /// The name the person gave it.
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// Backed up by its provider to the person's other devices (the
    /// authenticator's BE flag), rather than bound to one device.
    pub synced: bool,
}

/// The WebAuthn registration the page offers (the values of
/// `PublicKeyCredentialCreationOptions`, W3C WebAuthn §5.4, that the
/// server decides), read by `/assets/passkey.js` from the add form's
/// `data-` attributes. Binary values are base64url without padding.
pub struct Ceremony {
    pub challenge: String,
    pub rp_id: String,
    pub rp_name: String,
    /// The user handle: the user's `sub` as UTF-8 bytes, base64url.
    pub user_id: String,
    pub user_name: String,
    pub user_display_name: String,
    /// The ids of the person's credentials already registered
    /// (`excludeCredentials`), base64url, joined with commas.
    pub exclude: Vec<String>,
}

/// An app the person has allowed, as the list shows it.
pub struct ConsentView {
    pub client_id: String,
    pub name: String,
    /// The host of the app's Client ID Metadata Document, when it has one
    /// (the host vouches for it, as on the consent page).
    pub host: Option<String>,
    /// What the app may do, in words.
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

/// The outcome of what the person just did, shown at the top.
pub enum Notice<'a> {
    Done(&'a str),
    Failed(&'a str),
}

pub struct PasskeyRow<'a> {
    pub passkey: &'a PasskeyView,
    pub rename: FormContext<'a>,
    pub remove: FormContext<'a>,
}

pub struct AddPasskey<'a> {
    pub ceremony: &'a Ceremony,
    pub form: FormContext<'a>,
}

pub struct ConsentRow<'a> {
    pub consent: &'a ConsentView,
    pub withdraw: FormContext<'a>,
}

/// Everything the account page shows.
pub struct AccountPage<'a> {
    pub username: &'a str,
    /// The `name` claim, when the account has one.
    pub name: Option<&'a str>,
    pub notice: Option<Notice<'a>>,
    pub passkeys: &'a [PasskeyRow<'a>],
    pub add_passkey: Option<AddPasskey<'a>>,
    pub password: FormContext<'a>,
    pub consents: &'a [ConsentRow<'a>],
    /// More apps than the list shows.
    pub more_consents: bool,
    pub sign_out: FormContext<'a>,
}

/// Opens a `POST` form with its hidden `handle` and `csrf`; `attributes`
/// (markup built from escaped values) go into the tag.
fn open(form: &FormContext, attributes: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"{attributes}>\n\
         <input type=\"hidden\" name=\"handle\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        escape(form.action),
        escape(form.handle),
        escape(form.csrf),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value))
}

/// A day as `2026-12-02` (UTC), from unix seconds, inside `<time>`.
fn date(secs: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("<time>{year:04}-{month:02}-{day:02}</time>")
}

fn notice(n: &Option<Notice>) -> String {
    match n {
        Some(Notice::Done(text)) => format!("<p class=\"notice\" role=\"status\">{}</p>\n", escape(text)),
        Some(Notice::Failed(text)) => format!("<p class=\"alert\" role=\"alert\">{}</p>\n", escape(text)),
        None => String::new(),
    }
}

fn passkey_row(i: usize, row: &PasskeyRow) -> String {
    let p = row.passkey;
    let used = p
        .last_used_at
        .map_or_else(|| "never used".to_owned(), |t| format!("last used {}", date(t)));
    let kind = if p.synced {
        "synced to your devices"
    } else {
        "on one device"
    };
    format!(
        "<li><strong>{name}</strong><small>added {added}, {used}, {kind}</small>\n\
         {rename}{action_rename}{id}<label for=\"passkey-name-{i}\">New name for this passkey</label>\n\
         <input id=\"passkey-name-{i}\" name=\"name\" type=\"text\" value=\"{name}\" required>\n\
         <div class=\"actions\"><button type=\"submit\" class=\"secondary\">Rename</button></div>\n</form>\n\
         {remove}{action_remove}{id}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">\
         Remove this passkey</button></div>\n</form>\n</li>\n",
        name = escape(&p.name),
        added = date(p.created_at),
        rename = open(&row.rename, ""),
        remove = open(&row.remove, ""),
        action_rename = hidden("action", "rename"),
        action_remove = hidden("action", "remove"),
        id = hidden("credential_id", &p.id),
    )
}

/// The add form stays `hidden` until the script finds WebAuthn in the
/// browser; it then asks for the passkey, fills `credential` and submits.
fn add_passkey(add: &AddPasskey) -> String {
    let c = add.ceremony;
    let attributes = format!(
        " data-webauthn=\"create\" hidden data-challenge=\"{}\" data-rp-id=\"{}\" data-rp-name=\"{}\" \
         data-user-id=\"{}\" data-user-name=\"{}\" data-user-display-name=\"{}\" data-exclude=\"{}\"",
        escape(&c.challenge),
        escape(&c.rp_id),
        escape(&c.rp_name),
        escape(&c.user_id),
        escape(&c.user_name),
        escape(&c.user_display_name),
        escape(&c.exclude.join(",")),
    );
    format!(
        "{form}{action}{credential}<label for=\"new-passkey-name\">Name for the new passkey</label>\n\
         <input id=\"new-passkey-name\" name=\"name\" type=\"text\" \
         placeholder=\"e.g. my phone\">\n\
         <div class=\"actions\"><button type=\"submit\">Add a passkey</button></div>\n\
         <p data-passkey-status role=\"status\"></p>\n</form>\n",
        form = open(&add.form, &attributes),
        action = hidden("action", "add"),
        credential = hidden("credential", ""),
    )
}

fn passkeys(page: &AccountPage) -> String {
    let list = if page.passkeys.is_empty() {
        "<p>You have no passkeys yet.</p>\n".to_owned()
    } else {
        let rows: String = page
            .passkeys
            .iter()
            .enumerate()
            .map(|(i, r)| passkey_row(i, r))
            .collect();
        format!("<ul>\n{rows}</ul>\n")
    };
    let add = page.add_passkey.as_ref().map(add_passkey).unwrap_or_default();
    format!(
        "<section aria-labelledby=\"passkeys\">\n<h2 id=\"passkeys\">Passkeys</h2>\n\
         <p class=\"sub\">Sign in with your fingerprint, face or screen lock instead of a password.</p>\n\
         {list}{add}</section>\n"
    )
}

fn password(form: &FormContext) -> String {
    format!(
        "<section aria-labelledby=\"password\">\n<h2 id=\"password\">Password</h2>\n\
         <p class=\"sub\">Changing it signs you out in every other browser.</p>\n{form}\
         <label for=\"current-password\">Current password</label>\n\
         <input id=\"current-password\" name=\"current_password\" type=\"password\" \
         autocomplete=\"current-password\" required>\n\
         <label for=\"new-password\">New password (at least 8 characters)</label>\n\
         <input id=\"new-password\" name=\"new_password\" type=\"password\" \
         autocomplete=\"new-password\" minlength=\"8\" maxlength=\"1024\" required>\n\
         <label for=\"confirm-password\">New password again</label>\n\
         <input id=\"confirm-password\" name=\"confirm_password\" type=\"password\" \
         autocomplete=\"new-password\" minlength=\"8\" maxlength=\"1024\" required>\n\
         <div class=\"actions\"><button type=\"submit\">Change password</button></div>\n</form>\n</section>\n",
        form = open(form, ""),
    )
}

fn consent_row(row: &ConsentRow) -> String {
    let c = row.consent;
    let host = c
        .host
        .as_ref()
        .map(|h| format!("<small>described by {}</small>", escape(h)))
        .unwrap_or_default();
    let scopes: Vec<String> = c.scopes.iter().map(|s| escape(s)).collect();
    format!(
        "<li><strong>{name}</strong>{host}<small>allowed {when}: {scopes}</small>\n\
         {form}{client}<div class=\"actions\"><button type=\"submit\" class=\"secondary\">\
         Withdraw access</button></div>\n</form>\n</li>\n",
        name = escape(&c.name),
        when = date(c.granted_at),
        scopes = scopes.join("; "),
        form = open(&row.withdraw, ""),
        client = hidden("client_id", &c.client_id),
    )
}

fn consents(page: &AccountPage) -> String {
    let list = if page.consents.is_empty() {
        "<p>You have not allowed any apps.</p>\n".to_owned()
    } else {
        let rows: String = page.consents.iter().map(consent_row).collect();
        let more = if page.more_consents {
            "<p class=\"sub\">Only the first apps are listed.</p>\n"
        } else {
            ""
        };
        format!(
            "<p class=\"sub\">Withdrawing an app's access signs you out of it: its tokens stop \
             working, and it must ask you again.</p>\n<ul>\n{rows}</ul>\n{more}"
        )
    };
    format!("<section aria-labelledby=\"apps\">\n<h2 id=\"apps\">Apps you have allowed</h2>\n{list}</section>\n")
}

fn sign_out(form: &FormContext) -> String {
    format!(
        "<section aria-labelledby=\"everywhere\">\n<h2 id=\"everywhere\">Sign out everywhere</h2>\n\
         <p class=\"sub\">Ends your sign-in in every browser, this one too. Apps keep the access \
         you allowed them until you withdraw it above.</p>\n{form}\
         <div class=\"actions\"><button type=\"submit\" class=\"secondary\">Sign out everywhere</button></div>\n\
         </form>\n</section>\n",
        form = open(form, ""),
    )
}

pub fn account_page(p: &AccountPage) -> String {
    let who = match p.name {
        Some(name) => format!("<strong>{}</strong> ({})", escape(name), escape(p.username)),
        None => format!("<strong>{}</strong>", escape(p.username)),
    };
    let body = format!(
        "<h1>Your account</h1>\n<p class=\"sub\">Signed in as {who}</p>\n{notice}{passkeys}{password}{consents}{sign_out}",
        notice = notice(&p.notice),
        passkeys = passkeys(p),
        password = password(&p.password),
        consents = consents(p),
        sign_out = sign_out(&p.sign_out),
    );
    page("Your account", &body)
}
