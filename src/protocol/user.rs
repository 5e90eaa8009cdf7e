//! User accounts: the admin API bodies (`POST/PUT /admin/users`), the stored
//! record, and the OIDC Core §5.4 mapping from scopes to claims. Password
//! hashing itself is done by the platform (WebCrypto PBKDF2); this module
//! only describes the stored hash.

use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::grant::Grant;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most PBKDF2-HMAC-SHA256 iterations `PASSWORD_ITERATIONS` may ask
/// for, and its default: workerd's WebCrypto refuses PBKDF2 with more than
/// 100,000, so this is the most we can use.
pub const PASSWORD_ITERATIONS_MAX: u32 = 100_000;

/// The fewest: NIST SP 800-63B (2017) §5.1.1.2 asks for an iteration count
/// "as large as verification server performance will allow, typically at
/// least 10,000 iterations". Below it a leaked hash is too cheap to guess at.
pub const PASSWORD_ITERATIONS_MIN: u32 = 10_000;

/// Reads a `PASSWORD_ITERATIONS` value: a whole number within
/// [`PASSWORD_ITERATIONS_MIN`]..=[`PASSWORD_ITERATIONS_MAX`]. Each stored
/// hash keeps the count it was made with, so a new value applies to the
/// passwords set from then on and every stored one still verifies.
pub fn parse_password_iterations(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (PASSWORD_ITERATIONS_MIN..=PASSWORD_ITERATIONS_MAX).contains(n))
        .ok_or_else(|| format!("must be a whole number from {PASSWORD_ITERATIONS_MIN} to {PASSWORD_ITERATIONS_MAX}"))
}

/// The `alg` of every [`PasswordHash`] we write.
pub const PASSWORD_HASH_ALG: &str = "pbkdf2-sha256";

const USERNAME_MAX: usize = 64;
/// NIST SP 800-63B §5.1.1.2: at least 8 characters, and a maximum of at
/// least 64; no composition rules.
const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 1024;
const CLAIMS_MAX_BYTES: usize = 8 * 1024;

/// The JSON type OIDC Core §5.1 gives each standard claim.
#[derive(Clone, Copy)]
enum ClaimType {
    String,
    Boolean,
    Number,
    Address,
}

/// OIDC Core §5.1 standard claims an administrator may set. `sub` is absent:
/// the server assigns it and it never changes.
const STANDARD_CLAIMS: &[(&str, ClaimType)] = &[
    ("name", ClaimType::String),
    ("given_name", ClaimType::String),
    ("family_name", ClaimType::String),
    ("middle_name", ClaimType::String),
    ("nickname", ClaimType::String),
    ("preferred_username", ClaimType::String),
    ("profile", ClaimType::String),
    ("picture", ClaimType::String),
    ("website", ClaimType::String),
    ("email", ClaimType::String),
    ("email_verified", ClaimType::Boolean),
    ("gender", ClaimType::String),
    ("birthdate", ClaimType::String),
    ("zoneinfo", ClaimType::String),
    ("locale", ClaimType::String),
    ("phone_number", ClaimType::String),
    ("phone_number_verified", ClaimType::Boolean),
    ("address", ClaimType::Address),
    ("updated_at", ClaimType::Number),
];

/// OIDC Core §5.1.1 Address Claim members.
const ADDRESS_MEMBERS: &[&str] = &[
    "formatted",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

/// OIDC Core §5.4: the claims each scope value requests.
const SCOPE_CLAIMS: &[(&str, &[&str])] = &[
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// Every user claim some scope releases, for discovery's `claims_supported`.
pub fn scope_claim_names() -> impl Iterator<Item = &'static str> {
    SCOPE_CLAIMS.iter().flat_map(|(_, names)| names.iter().copied())
}

/// `POST /admin/users` body, validated. `Debug` hides the password.
/// Without a password the account is passkey-only: the answer carries a
/// one-time enrollment link for its first passkey.
#[derive(Clone, PartialEq)]
pub struct NewUser {
    pub username: String,
    pub password: Option<String>,
    pub claims: Map<String, Value>,
    /// `"admin": true`: an administrator of the console.
    pub admin: bool,
}

/// `PUT /admin/users/{username}` body, validated: each `Some` replaces the
/// stored value (`claims` replaces all claims); `None` keeps it.
#[derive(Clone, PartialEq, Default)]
pub struct UserUpdate {
    pub password: Option<String>,
    pub claims: Option<Map<String, Value>>,
    /// `"revoke_grants": true`: also revoke every grant the user has given
    /// (their refresh tokens and access tokens stop working).
    pub revoke_grants: bool,
    /// `"admin"`: grants (`true`) or revokes (`false`) the administrator role.
    pub admin: Option<bool>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("claims", &self.claims)
            .field("admin", &self.admin)
            .finish()
    }
}

impl std::fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("claims", &self.claims)
            .finish()
    }
}

/// A stored PBKDF2 password hash; `salt` and `hash` are base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    pub alg: String,
    pub iterations: u32,
    pub salt: String,
    pub hash: String,
}

/// A user as stored in KV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub username: String,
    /// OIDC Core §2: "A locally unique and never reassigned identifier".
    pub sub: String,
    /// `None`: a passkey-only account, which no password opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordHash>,
    #[serde(default)]
    pub claims: Map<String, Value>,
    pub created_at: u64,
    pub updated_at: u64,
    /// Counts the password changes (and grant revocations): a login session
    /// records the value it began under and ends when it no longer matches.
    #[serde(default)]
    pub session_epoch: u32,
    /// Upstream identities that sign in to this account (federated
    /// sign-in), each with the key of its link record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<UserLink>,
    /// An administrator: may sign in to the admin console (`/admin`). Set
    /// only with the admin token or by another administrator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

/// An upstream identity linked to an account: the provider's id and the
/// key of the link record (`federation::link_key`) that finds the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserLink {
    pub idp: String,
    pub key: String,
    pub linked_at: u64,
}

/// Which account has an e-mail address (`email` claim), so that a first
/// federated sign-in with that address finds it. Only ever used to offer
/// or make a link (under the provider's rules), never to sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailIndex {
    /// The address as [`email_key`] writes it.
    pub key: String,
    pub username: String,
    pub sub: String,
}

/// How an address is looked up: trimmed and lower-cased (RFC 5321 lets the
/// local part be case-sensitive, but no provider we link with treats it so,
/// and two accounts differing only in case would be a trap). `None` for a
/// value that is no address.
pub fn email_key(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.contains('@') && e.len() <= 254).then_some(e)
}

impl EmailIndex {
    /// The index entry of `user`'s `email` claim, if it has one.
    pub fn of(user: &UserRecord) -> Option<Self> {
        let key = email_key(user.claims.get("email")?.as_str()?)?;
        Some(EmailIndex {
            key,
            username: user.username.clone(),
            sub: user.sub.clone(),
        })
    }
}

/// What was withdrawn from a subject (`sub`, never reassigned, OIDC Core
/// §2), kept until everything issued to them has ended: everything, when
/// the user was deleted; every grant whose sign-in was at or before a
/// moment, when the admin revoked their grants; and per client, every grant
/// of that client made at or before a moment, when the person withdrew
/// their consent to it. A record that says neither of the last two is a
/// deletion (as every record written before they existed is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRevocation {
    pub sub: String,
    pub expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_before: Option<u64>,
    /// `client_id` → the moment its grants were withdrawn. By when the
    /// grant was made, not when the person signed in: a withdrawal ends no
    /// session, so the same session may consent again and make a new grant.
    /// A JSON map (the moments are numbers in it): its code is in the wasm
    /// for JSON already, where a map of its own was 10 KB more (3 KB
    /// gzipped). An entry that is not a number counts as withdrawn for good.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub clients: Map<String, Value>,
}

/// Why a grant no longer stands ([`UserRevocation::voids`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voided {
    Deleted,
    Revoked,
    Withdrawn,
}

impl Voided {
    /// Said to the client (`invalid_grant`): nothing it does not know.
    pub fn description(self) -> &'static str {
        match self {
            Voided::Deleted => "the user of this grant has been deleted",
            Voided::Revoked => "the grants of this user have been revoked",
            Voided::Withdrawn => "the user has withdrawn this client's access",
        }
    }
}

impl UserRevocation {
    /// A deleted user's tombstone, kept `lifetime` seconds.
    pub fn deletion(sub: &str, now: u64, lifetime: u64) -> Self {
        UserRevocation {
            sub: sub.to_owned(),
            expires_at: now + lifetime,
            signed_in_before: None,
            clients: Map::new(),
        }
    }

    /// `existing`, or a record that withdraws nothing yet (an empty one
    /// would read as a deletion: only [`Self::revoke_all`] and
    /// [`Self::withdraw`] may follow).
    fn start(existing: Option<Self>, sub: &str) -> Self {
        existing.unwrap_or_else(|| UserRevocation {
            sub: sub.to_owned(),
            expires_at: 0,
            signed_in_before: None,
            clients: Map::new(),
        })
    }

    /// `existing` (if any) with every grant signed in at or before `now`
    /// revoked as well, kept until `lifetime` after `now`.
    pub fn revoke_all(existing: Option<Self>, sub: &str, now: u64, lifetime: u64) -> Self {
        let mut r = Self::start(existing, sub);
        r.signed_in_before = Some(now);
        r.expires_at = r.expires_at.max(now + lifetime);
        r
    }

    /// `existing` (if any) with `client_id`'s grants made at or before
    /// `now` withdrawn as well. Entries whose grants have all ended
    /// (`lifetime` after their moment) are forgotten, so the record stays
    /// as small as the withdrawals that still matter.
    pub fn withdraw(existing: Option<Self>, sub: &str, client_id: &str, now: u64, lifetime: u64) -> Self {
        let mut r = Self::start(existing, sub);
        r.clients
            .retain(|_, at| at.as_u64().is_none_or(|at| at + lifetime > now));
        r.clients.insert(client_id.to_owned(), now.into());
        r.expires_at = r.expires_at.max(now + lifetime);
        r
    }

    pub fn deleted(&self) -> bool {
        self.signed_in_before.is_none() && self.clients.is_empty()
    }

    /// Whether `grant` is void, and why. "At or before": a grant signed in
    /// (or made) during the very second of the revocation goes too, as the
    /// safe side of a one-second clock.
    pub fn voids(&self, grant: &Grant) -> Option<Voided> {
        if self.deleted() {
            Some(Voided::Deleted)
        } else if self.signed_in_before.is_some_and(|t| grant.auth_time <= t) {
            Some(Voided::Revoked)
        } else if self
            .clients
            .get(&grant.client_id)
            .is_some_and(|t| t.as_u64().is_none_or(|t| grant.created_at <= t))
        {
            Some(Voided::Withdrawn)
        } else {
            None
        }
    }
}

impl UserRecord {
    /// The `name` claim (OIDC Core §5.1), when the account has one.
    pub fn name(&self) -> Option<&str> {
        self.claims.get("name").and_then(Value::as_str)
    }

    /// Ends every session of the user, wherever it is: each checks the
    /// epoch it began under against this one (`SessionRecord::belongs_to`).
    pub fn end_sessions(&mut self) {
        self.session_epoch = self.session_epoch.wrapping_add(1);
    }

    /// The `GET /admin/users/{username}` view: everything but the password.
    pub fn public_view(&self) -> Value {
        serde_json::json!({
            "username": self.username,
            "sub": self.sub,
            "has_password": self.password.is_some(),
            "admin": self.admin,
            "claims": self.claims,
            "links": self.links.iter().map(|l| serde_json::json!({"idp": l.idp, "linked_at": l.linked_at})).collect::<Vec<_>>(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// 1–64 characters of `[A-Za-z0-9._@+-]`: enough for e-mail-like names,
/// nothing that needs escaping in a URL path or a KV key.
pub fn validate_username(username: &str) -> OAuthResult<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._@+-".contains(c);
    if username.is_empty() || username.len() > USERNAME_MAX || !username.chars().all(allowed) {
        return Err(invalid_request(
            "username must be 1 to 64 characters of letters, digits and . _ @ + -",
        ));
    }
    Ok(())
}

/// NIST SP 800-63B: length is the only rule; it is counted in characters.
pub fn validate_password(password: &str) -> OAuthResult<()> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(invalid_request("password must be 8 to 1024 characters long"));
    }
    Ok(())
}

fn type_matches(value: &Value, ty: ClaimType) -> bool {
    match ty {
        ClaimType::String => value.is_string(),
        ClaimType::Boolean => value.is_boolean(),
        // OIDC Core §5.1: seconds since the epoch.
        ClaimType::Number => value.as_f64().is_some_and(|n| n >= 0.0),
        ClaimType::Address => value.as_object().is_some_and(|o| {
            o.iter()
                .all(|(k, v)| ADDRESS_MEMBERS.contains(&k.as_str()) && v.is_string())
        }),
    }
}

/// The standard claims an account may hold (OIDC Core §5.1 but `sub`),
/// which are what a federated sign-in may copy from an upstream.
pub fn standard_claim_names() -> impl Iterator<Item = &'static str> {
    STANDARD_CLAIMS.iter().map(|(name, _)| *name)
}

/// Whether `value` may be held as the standard claim `name`: its JSON type
/// is the one OIDC Core §5.1 gives it. `false` for any other name.
pub fn fits_standard_claim(name: &str, value: &Value) -> bool {
    STANDARD_CLAIMS
        .iter()
        .any(|(n, ty)| *n == name && type_matches(value, *ty))
}

fn type_name(ty: ClaimType) -> &'static str {
    match ty {
        ClaimType::String => "a string",
        ClaimType::Boolean => "a boolean",
        ClaimType::Number => "a non-negative number",
        ClaimType::Address => {
            "an object of strings (formatted, street_address, locality, region, postal_code, country)"
        }
    }
}

/// Checks a `claims` object: standard claims only, each of its JSON type,
/// at most 8 KiB in all.
pub fn validate_claims(claims: &Map<String, Value>) -> OAuthResult<()> {
    let unknown: Vec<&str> = claims
        .keys()
        .map(String::as_str)
        .filter(|k| !STANDARD_CLAIMS.iter().any(|(name, _)| name == k))
        .collect();
    if !unknown.is_empty() {
        return Err(invalid_request(format!(
            "unsupported claims: {} (only OIDC standard claims other than sub are allowed)",
            unknown.join(", ")
        )));
    }
    for (name, ty) in STANDARD_CLAIMS {
        if let Some(v) = claims.get(*name) {
            if !type_matches(v, *ty) {
                return Err(invalid_request(format!("claim {name} must be {}", type_name(*ty))));
            }
        }
    }
    let size = serde_json::to_string(claims).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > CLAIMS_MAX_BYTES {
        return Err(invalid_request("claims must be at most 8 KiB of JSON"));
    }
    Ok(())
}

fn body_object(body: &Value) -> OAuthResult<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| invalid_request("the request body must be a JSON object"))
}

fn string_field<'a>(obj: &'a Map<String, Value>, name: &'static str) -> OAuthResult<Option<&'a str>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid_request(format!("{name} must be a string"))),
    }
}

fn claims_field(obj: &Map<String, Value>) -> OAuthResult<Option<Map<String, Value>>> {
    match obj.get("claims") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(claims)) => {
            validate_claims(claims)?;
            Ok(Some(claims.clone()))
        }
        Some(_) => Err(invalid_request("claims must be a JSON object")),
    }
}

/// Parses `POST /admin/users`: `{"username", "password"?, "claims"?}`.
pub fn parse_new_user(body: &Value) -> OAuthResult<NewUser> {
    let obj = body_object(body)?;
    let username = string_field(obj, "username")?.ok_or_else(|| invalid_request("username is required"))?;
    validate_username(username)?;
    let password = string_field(obj, "password")?;
    if let Some(p) = password {
        validate_password(p)?;
    }
    Ok(NewUser {
        username: username.to_owned(),
        password: password.map(str::to_owned),
        claims: claims_field(obj)?.unwrap_or_default(),
        admin: bool_field(obj, "admin")?.unwrap_or(false),
    })
}

/// An optional boolean member (`null` is absent).
fn bool_field(obj: &Map<String, Value>, name: &'static str) -> OAuthResult<Option<bool>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid_request(format!("{name} must be a boolean"))),
    }
}

/// Parses `PUT /admin/users/{username}`. A `username` in the body must equal
/// the one in the path: accounts are not renamed, since `sub` and the KV key
/// hang off the name.
pub fn parse_user_update(path_username: &str, body: &Value) -> OAuthResult<UserUpdate> {
    let obj = body_object(body)?;
    if let Some(name) = string_field(obj, "username")? {
        if name != path_username {
            return Err(invalid_request("username cannot be changed"));
        }
    }
    let password = string_field(obj, "password")?;
    if let Some(p) = password {
        validate_password(p)?;
    }
    Ok(UserUpdate {
        password: password.map(str::to_owned),
        claims: claims_field(obj)?,
        revoke_grants: bool_field(obj, "revoke_grants")?.unwrap_or(false),
        admin: bool_field(obj, "admin")?,
    })
}

/// OIDC Core §5.4: the claims a set of granted scopes releases. `sub` is
/// always present (§5.3.2: "The sub Claim MUST always be returned"); other
/// claims only when the user has them.
pub fn claims_for_scopes(sub: &str, claims: &Map<String, Value>, scopes: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), sub.into());
    for (scope, names) in SCOPE_CLAIMS {
        if !scopes.iter().any(|s| s == scope) {
            continue;
        }
        for name in *names {
            if let Some(v) = claims.get(*name) {
                out.insert((*name).to_owned(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ErrorCode;
    use serde_json::json;

    fn error_of<T>(r: OAuthResult<T>) -> Option<String> {
        r.err().map(|e| {
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            e.description.into_owned()
        })
    }

    fn user() -> UserRecord {
        let claims = json!({
            "name": "Ada Lovelace", "given_name": "Ada", "email": "ada@example.com",
            "email_verified": true, "updated_at": 1_700_000_000,
            "address": {"locality": "London", "country": "UK"},
        });
        UserRecord {
            username: "ada".into(),
            sub: "u-123".into(),
            password: Some(PasswordHash {
                alg: PASSWORD_HASH_ALG.into(),
                iterations: PASSWORD_ITERATIONS_MAX,
                salt: "c2FsdA".into(),
                hash: "aGFzaA".into(),
            }),
            claims: claims.as_object().unwrap().clone(),
            created_at: 1,
            updated_at: 2,
            session_epoch: 0,
            links: Vec::new(),
            admin: false,
        }
    }

    #[test]
    fn username_rules() {
        let long = "a".repeat(USERNAME_MAX + 1);
        let max = "a".repeat(USERNAME_MAX);
        let cases = [
            ("ada", true),
            ("ada.lovelace+test@example-1.org", true),
            ("A_b", true),
            (max.as_str(), true),
            ("", false),
            (long.as_str(), false),
            ("ada lovelace", false),
            ("ada/x", false),
            ("adé", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_username(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn password_rules() {
        let cases = [
            ("12345678".to_owned(), true),
            ("ééééééééé".to_owned(), true), // 9 characters, 18 bytes
            ("1234567".to_owned(), false),
            ("ééé4567".to_owned(), false), // 7 characters, 10 bytes
            ("x".repeat(PASSWORD_MAX), true),
            ("x".repeat(PASSWORD_MAX + 1), false),
        ];
        for (pw, ok) in cases {
            assert_eq!(validate_password(&pw).is_ok(), ok, "{} chars", pw.chars().count());
        }
    }

    #[test]
    fn claim_rules() {
        let big = "x".repeat(CLAIMS_MAX_BYTES);
        let cases: Vec<(Value, Option<&str>)> = vec![
            (json!({}), None),
            (
                json!({"email": "a@b.c", "email_verified": false, "phone_number_verified": true}),
                None,
            ),
            (json!({"updated_at": 1_700_000_000}), None),
            (
                json!({"address": {"formatted": "1 Main St", "postal_code": "123"}}),
                None,
            ),
            (json!({"sub": "x"}), Some("sub")),
            (json!({"role": "admin", "groups": []}), Some("groups, role")),
            (
                json!({"email_verified": "true"}),
                Some("email_verified must be a boolean"),
            ),
            (json!({"name": 5}), Some("name must be a string")),
            (json!({"name": null}), Some("name must be a string")),
            (json!({"updated_at": "2024"}), Some("updated_at must be")),
            (json!({"updated_at": -1}), Some("updated_at must be")),
            (json!({"address": "London"}), Some("address must be")),
            (json!({"address": {"city": "London"}}), Some("address must be")),
            (json!({"address": {"country": 44}}), Some("address must be")),
            (json!({"name": big}), Some("8 KiB")),
        ];
        for (claims, expected) in cases {
            let got = error_of(validate_claims(claims.as_object().unwrap()));
            match expected {
                None => assert_eq!(got, None, "{claims}"),
                Some(part) => assert!(got.as_deref().is_some_and(|d| d.contains(part)), "{claims}: {got:?}"),
            }
        }
    }

    #[test]
    fn new_user_bodies() {
        let ok = json!({"username": "ada", "password": "correct horse", "claims": {"email": "a@b.c"}});
        let u = parse_new_user(&ok).unwrap();
        assert_eq!(
            (u.username.as_str(), u.password.as_deref()),
            ("ada", Some("correct horse"))
        );
        assert_eq!(u.claims["email"], "a@b.c");
        assert!(!format!("{u:?}").contains("correct horse"));
        assert!(parse_new_user(&json!({"username": "ada", "password": "12345678"}))
            .unwrap()
            .claims
            .is_empty());
        let passkey_only = parse_new_user(&json!({"username": "ada"})).unwrap();
        assert_eq!(passkey_only.password, None);

        let cases: Vec<(Value, &str)> = vec![
            (json!("ada"), "JSON object"),
            (json!({"password": "12345678"}), "username is required"),
            (
                json!({"username": 1, "password": "12345678"}),
                "username must be a string",
            ),
            (json!({"username": "a b", "password": "12345678"}), "username must be"),
            (json!({"username": "ada", "password": 7}), "password must be a string"),
            (json!({"username": "ada", "password": "short"}), "password must be"),
            (
                json!({"username": "ada", "password": "12345678", "claims": []}),
                "claims must be a JSON object",
            ),
            (
                json!({"username": "ada", "password": "12345678", "claims": {"x": 1}}),
                "unsupported claims: x",
            ),
        ];
        for (body, part) in cases {
            let got = error_of(parse_new_user(&body));
            assert!(got.as_deref().is_some_and(|d| d.contains(part)), "{body}: {got:?}");
        }
    }

    #[test]
    fn update_bodies() {
        let u = parse_user_update("ada", &json!({})).unwrap();
        assert_eq!(u, UserUpdate::default());
        let u = parse_user_update("ada", &json!({"username": "ada", "password": "new password"})).unwrap();
        assert_eq!(u.password.as_deref(), Some("new password"));
        assert!(u.claims.is_none());
        assert!(!format!("{u:?}").contains("new password"));
        let u = parse_user_update("ada", &json!({"claims": {}})).unwrap();
        assert_eq!(u.claims, Some(Map::new()));
        assert!(!u.revoke_grants);
        assert!(
            parse_user_update("ada", &json!({"revoke_grants": true}))
                .unwrap()
                .revoke_grants
        );

        let cases: Vec<(Value, &str)> = vec![
            (json!([]), "JSON object"),
            (json!({"username": "bob"}), "username cannot be changed"),
            (json!({"password": "short"}), "password must be"),
            (json!({"password": 12345678}), "password must be a string"),
            (json!({"claims": {"sub": "x"}}), "unsupported claims: sub"),
            (json!({"revoke_grants": "yes"}), "revoke_grants must be a boolean"),
        ];
        for (body, part) in cases {
            let got = error_of(parse_user_update("ada", &body));
            assert!(got.as_deref().is_some_and(|d| d.contains(part)), "{body}: {got:?}");
        }
    }

    fn grant(client_id: &str, auth_time: u64, created_at: u64) -> Grant {
        Grant {
            client_id: client_id.into(),
            sub: "u".into(),
            scopes: vec!["openid".into()],
            claims: Map::new(),
            auth_time,
            nonce: None,
            sid: None,
            resources: Vec::new(),
            created_at,
            code: None,
            refresh: None,
            tokens_valid_until: 0,
            revoked: false,
            amr: vec!["pwd".into()],
            acr: None,
            idp: None,
        }
    }

    #[test]
    fn a_revocation_voids_what_was_signed_in_before_it() {
        let deleted = UserRevocation::deletion("u", 5, 4);
        assert_eq!(deleted.expires_at, 9);
        assert!(deleted.deleted());
        assert_eq!(deleted.voids(&grant("a", u64::MAX, u64::MAX)), Some(Voided::Deleted));
        let revoked = UserRevocation::revoke_all(None, "u", 100, 50);
        assert!(!revoked.deleted());
        assert_eq!(revoked.expires_at, 150);
        assert_eq!(revoked.voids(&grant("a", 99, 120)), Some(Voided::Revoked));
        assert_eq!(revoked.voids(&grant("a", 100, 120)), Some(Voided::Revoked));
        assert_eq!(revoked.voids(&grant("a", 101, 101)), None);
        // A tombstone stored before grant revocation existed reads as a deletion.
        let old: UserRevocation = serde_json::from_str(r#"{"sub":"u","expires_at":9}"#).unwrap();
        assert!(old.deleted());
    }

    #[test]
    fn a_withdrawal_voids_only_that_clients_grants_made_before_it() {
        let r = UserRevocation::withdraw(None, "u", "app-a", 100, 50);
        assert!(!r.deleted(), "a withdrawal alone is no deletion");
        assert_eq!(r.expires_at, 150);
        // By when the grant was made: a sign-in long before, consented again
        // after the withdrawal, makes a grant that stands.
        assert_eq!(r.voids(&grant("app-a", 10, 100)), Some(Voided::Withdrawn));
        assert_eq!(r.voids(&grant("app-a", 10, 101)), None);
        assert_eq!(r.voids(&grant("app-b", 10, 90)), None, "other clients keep theirs");
        // It survives a round trip and reads as what it is.
        let stored: UserRevocation = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(stored, r);
    }

    #[test]
    fn revocations_add_up_and_forget_what_has_ended() {
        let r = UserRevocation::withdraw(None, "u", "app-a", 100, 50);
        let r = UserRevocation::withdraw(Some(r), "u", "app-b", 120, 50);
        let r = UserRevocation::revoke_all(Some(r), "u", 130, 50);
        assert_eq!(r.clients.len(), 2);
        assert_eq!(r.signed_in_before, Some(130));
        assert_eq!(r.expires_at, 180);
        assert_eq!(r.voids(&grant("app-b", 140, 115)), Some(Voided::Withdrawn));
        // At 150 app-a's entry has done its work (every token of a grant made
        // by 100 has ended); app-b's has not. The record never shrinks in time.
        let r = UserRevocation::withdraw(Some(r), "u", "app-c", 150, 50);
        assert_eq!(r.clients.keys().collect::<Vec<_>>(), ["app-b", "app-c"]);
        assert_eq!(r.expires_at, 200);
        let r = UserRevocation::withdraw(Some(r), "u", "app-b", 160, 50);
        assert_eq!(r.clients["app-b"], 160, "withdrawn again: the later moment");
    }

    #[test]
    fn public_view_hides_the_password() {
        let v = user().public_view();
        assert_eq!(v["username"], "ada");
        assert_eq!(v["sub"], "u-123");
        assert_eq!(v["claims"]["email"], "ada@example.com");
        assert_eq!((v["created_at"].as_u64(), v["updated_at"].as_u64()), (Some(1), Some(2)));
        assert!(v.get("password").is_none() && !v.to_string().contains("aGFzaA"));
    }

    #[test]
    fn record_round_trips_through_json() {
        let u = user();
        let stored = serde_json::to_string(&u).unwrap();
        assert_eq!(serde_json::from_str::<UserRecord>(&stored).unwrap(), u);
    }

    #[test]
    fn claims_follow_scopes() {
        let u = user();
        let keys = |scopes: &[&str]| -> Vec<String> {
            let mut k: Vec<String> = claims_for_scopes(
                &u.sub,
                &u.claims,
                &scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .keys()
            .cloned()
            .collect();
            k.sort();
            k
        };
        assert_eq!(keys(&["openid"]), ["sub"]);
        assert_eq!(
            keys(&["openid", "profile"]),
            ["given_name", "name", "sub", "updated_at"]
        );
        assert_eq!(keys(&["openid", "email"]), ["email", "email_verified", "sub"]);
        assert_eq!(keys(&["address"]), ["address", "sub"]);
        // The user has no phone claims, so the phone scope releases nothing.
        assert_eq!(keys(&["phone"]), ["sub"]);
        let all = claims_for_scopes(
            &u.sub,
            &u.claims,
            &["openid", "profile", "email", "address", "phone"].map(String::from),
        );
        assert_eq!(all.len(), 7);
        assert_eq!(all["sub"], "u-123");
    }

    #[test]
    fn iteration_counts_within_the_floor_and_the_workerd_cap() {
        for (value, expected) in [
            ("100000", Some(100_000)),
            ("10000", Some(10_000)),
            (" 20000 ", Some(20_000)),
            ("9999", None),
            ("100001", None),
            ("0", None),
            ("-20000", None),
            ("20k", None),
            ("2e4", None),
            ("20000.5", None),
            ("4294967296", None),
        ] {
            let got = parse_password_iterations(value);
            assert_eq!(got.as_ref().ok().copied(), expected, "{value:?}");
            if let Err(why) = got {
                assert_eq!(why, "must be a whole number from 10000 to 100000");
            }
        }
    }
}
