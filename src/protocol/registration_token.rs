//! Registration tokens: initial access tokens (RFC 7591 §3) that the admin
//! mints for `POST /register`, apart from `ADMIN_TOKEN`. Each has an
//! expiry, a number of uses, and the grant types and scopes the clients
//! registered with it may have. A token is `<id>.<secret>`; the id names
//! its Durable Object, which keeps only the secret's hash and runs this
//! state machine one call at a time, so of any number of concurrent
//! registrations exactly `max_uses` succeed.

use super::client::{validate_scope, GrantType, MAX_SCOPE_LEN};
use super::encoding::ct_eq;
use super::error::{invalid_request, Challenge, ErrorCode, OAuthError, OAuthResult};
use super::object::{Flattened, Machine, Tagged};
use super::privilege::Privileges;
use super::scope::allowed_by;
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One day unless the admin says otherwise; at most 30 days.
pub const DEFAULT_EXPIRES_IN: u64 = 86_400;
pub const MAX_EXPIRES_IN: u64 = 30 * 86_400;
/// One registration unless the admin says otherwise; at most 1000.
pub const DEFAULT_MAX_USES: u32 = 1;
pub const MAX_MAX_USES: u32 = 1000;
/// What a relying party needs; `client_credentials` only when asked for.
const DEFAULT_GRANT_TYPES: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// What the admin decided when minting: until when, how often, and what
/// the clients registered with the token may be allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub expires_at: u64,
    pub max_uses: u32,
    pub grant_types: Vec<GrantType>,
    /// `None`: the scopes a client registered without `scope` gets (every
    /// supported one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A token as its object stores it. Read by hand (`object::Flattened`),
/// in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationToken {
    pub secret_hash: String,
    #[serde(flatten)]
    pub terms: Terms,
    pub uses: u32,
    pub revoked: bool,
}

impl<'de> Deserialize<'de> for RegistrationToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut token = Flattened::read(d)?;
        Ok(RegistrationToken {
            secret_hash: token.take("secret_hash")?,
            uses: token.take("uses")?,
            revoked: token.take("revoked")?,
            terms: token.rest()?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    expires_in: Option<u64>,
    max_uses: Option<u32>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
}

fn in_range<T: PartialOrd + std::fmt::Display>(name: &str, value: T, min: T, max: T) -> OAuthResult<T> {
    if value < min || value > max {
        return Err(invalid_request(format!("{name} must be between {min} and {max}")));
    }
    Ok(value)
}

fn parse_grant_types(names: Option<Vec<String>>) -> OAuthResult<Vec<GrantType>> {
    let Some(names) = names else {
        return Ok(DEFAULT_GRANT_TYPES.to_vec());
    };
    let mut grants = Vec::new();
    for name in &names {
        let g =
            GrantType::parse(name).ok_or_else(|| invalid_request(format!("grant type {name:?} is not supported")))?;
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    if grants.is_empty() {
        return Err(invalid_request("grant_types must not be empty"));
    }
    Ok(grants)
}

/// `POST /admin/registration-tokens` body: `{"expires_in", "max_uses",
/// "grant_types", "scope"}`, all optional (defaults above). Unknown
/// members are refused: a misspelt limit must not silently fall back to
/// the default.
pub fn parse_mint_request(body: &Value, now: u64) -> OAuthResult<Terms> {
    let req: MintRequest = serde_json::from_value(body.clone())
        .map_err(|e| invalid_request(format!("invalid registration token request: {e}")))?;
    let expires_in = in_range(
        "expires_in",
        req.expires_in.unwrap_or(DEFAULT_EXPIRES_IN),
        1,
        MAX_EXPIRES_IN,
    )?;
    let max_uses = in_range("max_uses", req.max_uses.unwrap_or(DEFAULT_MAX_USES), 1, MAX_MAX_USES)?;
    if let Some(scope) = &req.scope {
        if scope.len() > MAX_SCOPE_LEN {
            return Err(invalid_request(format!(
                "scope is longer than {MAX_SCOPE_LEN} characters"
            )));
        }
        validate_scope(scope).map_err(|e| invalid_request(e.description))?;
    }
    Ok(Terms {
        expires_at: now + expires_in,
        max_uses,
        grant_types: parse_grant_types(req.grant_types)?,
        scope: req.scope,
    })
}

/// The 201 answer: the token, shown this once, its id and its terms.
pub fn build_minted(id: &str, token: &str, terms: &Terms) -> Value {
    let mut out = match serde_json::to_value(terms) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    out.insert("id".into(), id.into());
    out.insert("token".into(), token.into());
    Value::Object(out)
}

/// A token id as minted (`random::id`, base64url); anything else names no
/// token, and is never used to name an object.
pub fn is_token_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A presented token split into its id and secret, if it has the form of one.
pub fn split_presented(token: &str) -> Option<(&str, &str)> {
    token
        .split_once('.')
        .filter(|(id, secret)| is_token_id(id) && is_token_id(secret))
}

/// Why a token call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No such token, or the secret does not match.
    Unknown,
    Revoked,
    Expired,
    UsedUp,
    GrantTypeNotAllowed(GrantType),
    ScopeNotAllowed(String),
    ResourceServer,
}

impl Refusal {
    /// RFC 7591 §3 leaves a bad initial access token to RFC 6750: 401
    /// `invalid_token` with a Bearer challenge. Metadata beyond the token's
    /// terms is RFC 7591 §3.2.2 `invalid_client_metadata`.
    pub fn error(&self) -> OAuthError {
        let token = |d: &'static str| OAuthError::new(ErrorCode::InvalidToken, d).with_challenge(Challenge::Bearer);
        let metadata = |d: String| OAuthError::new(ErrorCode::InvalidClientMetadata, d);
        match self {
            Self::Unknown => token("the registration token is invalid"),
            Self::Revoked => token("the registration token has been revoked"),
            Self::Expired => token("the registration token has expired"),
            Self::UsedUp => token("the registration token has no uses left"),
            Self::GrantTypeNotAllowed(g) => metadata(format!(
                "grant type {:?} is not allowed by this registration token",
                g.as_str()
            )),
            Self::ScopeNotAllowed(s) => metadata(format!("scope {s:?} is not allowed by this registration token")),
            Self::ResourceServer => metadata("resource_server can be set only with the admin token".into()),
        }
    }
}

impl Terms {
    /// Whether a client with these privileges may be registered under the
    /// token, and with which `scope`: its own, or the token's when it sent
    /// none (RFC 7591 §2: the server "MAY register a client with a default
    /// set of scopes"). The auth method class is the registrant's choice;
    /// the resource-server flag is never a token's to give. An
    /// `allowed_resources` list only narrows what the client may get
    /// tokens for, so a registrant may set one (and then only the admin
    /// may change it).
    fn admit(&self, p: &Privileges) -> Result<Option<String>, Refusal> {
        let Privileges {
            grant_types,
            scope,
            confidential: _,
            resource_server,
            allowed_resources: _,
        } = p;
        if *resource_server {
            return Err(Refusal::ResourceServer);
        }
        if let Some(g) = grant_types.iter().find(|g| !self.grant_types.contains(g)) {
            return Err(Refusal::GrantTypeNotAllowed(*g));
        }
        let registered = scope.clone().or_else(|| self.scope.clone());
        let allowed = allowed_by(self.scope.as_deref());
        match allowed_by(registered.as_deref())
            .into_iter()
            .find(|s| !allowed.contains(s))
        {
            Some(s) => Err(Refusal::ScopeNotAllowed(s)),
            None => Ok(registered),
        }
    }
}

impl RegistrationToken {
    fn check(&self, secret_hash: &str, now: u64) -> Result<(), Refusal> {
        if !ct_eq(self.secret_hash.as_bytes(), secret_hash.as_bytes()) {
            return Err(Refusal::Unknown);
        }
        if self.revoked {
            return Err(Refusal::Revoked);
        }
        if now >= self.terms.expires_at {
            return Err(Refusal::Expired);
        }
        if self.uses >= self.terms.max_uses {
            return Err(Refusal::UsedUp);
        }
        Ok(())
    }

    /// When the object's storage can go: at expiry, or at once if revoked.
    fn ends_at(&self) -> u64 {
        if self.revoked {
            0
        } else {
            self.terms.expires_at
        }
    }
}

/// The operations a token's object performs, one at a time. Read by hand
/// (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TokenOp {
    Create {
        token: RegistrationToken,
    },
    /// The token is valid; nothing is consumed (a registration whose
    /// metadata is invalid answers 401 or 400 without spending a use).
    Check {
        secret_hash: String,
    },
    /// A registration: the token is valid and admits these privileges;
    /// only then is one use consumed.
    Use {
        secret_hash: String,
        privileges: Privileges,
    },
    Revoke,
}

impl<'de> Deserialize<'de> for TokenOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let op = Tagged::internal(d, "op")?;
        Ok(match op.name() {
            "create" => TokenOp::Create {
                token: op.field("token")?,
            },
            "check" => TokenOp::Check {
                secret_hash: op.field("secret_hash")?,
            },
            "use" => TokenOp::Use {
                secret_hash: op.field("secret_hash")?,
                privileges: op.field("privileges")?,
            },
            "revoke" => TokenOp::Revoke,
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// Read by hand (`Tagged`), in the form `Serialize` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenReply {
    /// For `use`: the `scope` to register the client with.
    Ok {
        registered_scope: Option<String>,
    },
    Refused {
        refusal: Refusal,
    },
}

impl<'de> Deserialize<'de> for TokenReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let reply = Tagged::external(d)?;
        Ok(match reply.name() {
            "ok" => TokenReply::Ok {
                registered_scope: reply.field("registered_scope")?,
            },
            "refused" => TokenReply::Refused {
                refusal: reply.field("refusal")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

fn found(slot: &mut Option<RegistrationToken>) -> Result<&mut RegistrationToken, Refusal> {
    slot.as_mut().ok_or(Refusal::Unknown)
}

fn apply(slot: &mut Option<RegistrationToken>, op: TokenOp, now: u64) -> Result<Option<String>, Refusal> {
    match op {
        TokenOp::Create { token } => {
            *slot = Some(token);
            Ok(None)
        }
        TokenOp::Check { secret_hash } => found(slot)?.check(&secret_hash, now).map(|()| None),
        TokenOp::Use {
            secret_hash,
            privileges,
        } => {
            let token = found(slot)?;
            token.check(&secret_hash, now)?;
            let scope = token.terms.admit(&privileges)?;
            token.uses += 1;
            Ok(scope)
        }
        TokenOp::Revoke => {
            found(slot)?.revoked = true;
            Ok(None)
        }
    }
}

/// A registration token's object: one per token, named by its id.
pub struct RegistrationTokenMachine;

impl Machine for RegistrationTokenMachine {
    type State = RegistrationToken;
    type Op = TokenOp;
    type Reply = TokenReply;

    fn apply(slot: &mut Option<RegistrationToken>, op: TokenOp, now: u64) -> TokenReply {
        match apply(slot, op, now) {
            Ok(registered_scope) => TokenReply::Ok { registered_scope },
            Err(refusal) => TokenReply::Refused { refusal },
        }
    }

    /// Uses never move the end; a revocation brings it forward to now.
    fn ends_at(token: &RegistrationToken) -> u64 {
        token.ends_at()
    }
}

#[cfg(test)]
#[path = "registration_token_tests.rs"]
mod tests;
