//! An upstream identity provider as the admin API (`/admin/idps`) takes it
//! and as KV keeps it (`idp:<id>`). Secrets are write-only: the platform
//! seals them (AES-256-GCM) before they are stored, and the API shows only
//! whether one is set.

mod parse;

pub use parse::parse_provider;

use crate::protocol::object::{read_name, Flattened, Tagged, WireName};
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenID Connect: discovery from the issuer, an ID token.
    Oidc,
    /// Plain OAuth 2.0 with a user-info endpoint (GitHub's kind).
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// How the upstream returns the authorization response: in the redirect's
/// query (RFC 6749 §4.1.2) or posted as a form (OAuth 2.0 Form Post
/// Response Mode; Apple requires it when it is asked for `name` or `email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

/// How we authenticate to the upstream's token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

// The three enums above are read by their wire names (`WireName`): serde's
// derived reader of each was about 1.6 KB of the wasm. The names are the
// derived `Serialize`'s (a test holds them to it).
impl WireName for ProviderKind {
    const NAMES: &'static [(&'static str, Self)] = &[("oidc", Self::Oidc), ("oauth2", Self::OAuth2)];
}

impl WireName for ResponseMode {
    const NAMES: &'static [(&'static str, Self)] = &[("query", Self::Query), ("form_post", Self::FormPost)];
}

impl WireName for UpstreamAuthMethod {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("client_secret_basic", Self::ClientSecretBasic),
        ("client_secret_post", Self::ClientSecretPost),
    ];
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_name(d)
    }
}

impl<'de> Deserialize<'de> for ResponseMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_name(d)
    }
}

impl<'de> Deserialize<'de> for UpstreamAuthMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_name(d)
    }
}

/// The upstream client credential, as stored: ciphertexts the platform
/// made (opaque strings here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
// Externally tagged (serde's default), and read by hand (`Tagged`): serde's
// derived reader has a parser per variant.
#[serde(rename_all = "snake_case")]
pub enum StoredSecret {
    /// Only in a [`ProviderDraft`] of a new provider, before it is sealed.
    None,
    ClientSecret {
        sealed: String,
    },
    /// Apple's: the client secret is an ES256 JWT signed with this key for
    /// each exchange ([`super::request::apple_client_secret_input`]).
    Apple {
        team_id: String,
        key_id: String,
        sealed_key: String,
    },
}

impl<'de> Deserialize<'de> for StoredSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secret = Tagged::external(d)?;
        Ok(match secret.name() {
            "none" => Self::None,
            "client_secret" => Self::ClientSecret {
                sealed: secret.field("sealed")?,
            },
            "apple" => Self::Apple {
                team_id: secret.field("team_id")?,
                key_id: secret.field("key_id")?,
                sealed_key: secret.field("sealed_key")?,
            },
            other => return Err(D::Error::unknown_variant(other, &[])),
        })
    }
}

/// Read by hand (`object::Flattened`), in the form `Serialize` writes:
/// serde's derived reader of its 19 members, inlined into the reader of
/// the provider list, was about 8 KB of the wasm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderRecord {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    /// OIDC: the issuer (discovery, `iss`). OAuth 2.0: optional, checked
    /// against an `iss` in the authorization response (RFC 9207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// OAuth 2.0 only (an OIDC provider's come from discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    pub client_id: String,
    pub secret: StoredSecret,
    pub token_endpoint_auth_method: UpstreamAuthMethod,
    pub scopes: Vec<String>,
    /// Our claim → the upstream member it is copied from. Empty: the
    /// default mapping (OIDC only: the standard claims by name).
    pub claims: BTreeMap<String, String>,
    pub response_mode: ResponseMode,
    pub link_by_verified_email: bool,
    pub keep_tokens: bool,
    pub enabled: bool,
    /// Lower-case DNS names: a `login_hint` e-mail address at one of them
    /// goes straight to this provider.
    pub domains: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

impl<'de> Deserialize<'de> for ProviderRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut r = Flattened::read(d)?;
        Ok(ProviderRecord {
            id: r.take("id")?,
            name: r.take("name")?,
            kind: r.take("kind")?,
            issuer: r.take("issuer")?,
            authorization_endpoint: r.take("authorization_endpoint")?,
            token_endpoint: r.take("token_endpoint")?,
            userinfo_endpoint: r.take("userinfo_endpoint")?,
            client_id: r.take("client_id")?,
            secret: r.take("secret")?,
            token_endpoint_auth_method: r.take("token_endpoint_auth_method")?,
            scopes: r.take("scopes")?,
            claims: r.take("claims")?,
            response_mode: r.take("response_mode")?,
            link_by_verified_email: r.take("link_by_verified_email")?,
            keep_tokens: r.take("keep_tokens")?,
            enabled: r.take("enabled")?,
            domains: r.take("domains")?,
            created_at: r.take("created_at")?,
            updated_at: r.take("updated_at")?,
        })
    }
}

/// Every configured provider: one KV record (`config:idps`), so that the
/// login page, which shows them all, costs one read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderSet {
    pub providers: Vec<ProviderRecord>,
}

impl ProviderSet {
    pub const KEY: &'static str = "idps";

    pub fn get(&self, id: &str) -> Option<&ProviderRecord> {
        self.providers.iter().find(|p| p.id == id)
    }
}

/// A secret the admin just sent, to be sealed by the platform.
#[derive(Clone, PartialEq, Eq)]
pub enum NewSecret {
    ClientSecret(String),
    Apple {
        team_id: String,
        key_id: String,
        private_key_pem: String,
    },
}

impl NewSecret {
    /// What the platform seals: the client secret, or Apple's PEM key.
    pub fn plaintext(&self) -> &str {
        match self {
            Self::ClientSecret(s) => s,
            Self::Apple { private_key_pem, .. } => private_key_pem,
        }
    }
}

/// Never prints the secret.
impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Self::Apple { team_id, key_id, .. } => write!(f, "Apple {{ {team_id}, {key_id}, [redacted] }}"),
        }
    }
}

/// A validated body: the record (with the existing secret, or
/// [`StoredSecret::None`]) and the secret sent with it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDraft {
    pub record: ProviderRecord,
    pub new_secret: Option<NewSecret>,
}

impl ProviderDraft {
    /// The record to store. `sealed` is the platform's ciphertext of
    /// `new_secret`'s [`plaintext`](NewSecret::plaintext), given exactly
    /// when there is a new secret; without one the existing secret stays.
    pub fn into_record(self, sealed: Option<String>) -> ProviderRecord {
        let mut record = self.record;
        record.secret = match (self.new_secret, sealed) {
            (Some(NewSecret::ClientSecret(_)), Some(sealed)) => StoredSecret::ClientSecret { sealed },
            (Some(NewSecret::Apple { team_id, key_id, .. }), Some(sealed_key)) => StoredSecret::Apple {
                team_id,
                key_id,
                sealed_key,
            },
            _ => record.secret,
        };
        record
    }
}
impl ProviderRecord {
    /// The provider as the admin API shows it: every member but the
    /// secret, which shows only as `client_secret_set`, or as
    /// `apple_client_secret` with its ids.
    pub fn public_view(&self) -> Value {
        // Through the JSON text KV stores: the record's one serializer and
        // a map reader the wasm has anyway, not a second serializer into a
        // `Value` for the record's 19 members.
        let mut view: Map<String, Value> = serde_json::to_string(self)
            .ok()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        view.remove("secret");
        match &self.secret {
            StoredSecret::Apple { team_id, key_id, .. } => {
                view.insert(
                    "apple_client_secret".into(),
                    json!({"team_id": team_id, "key_id": key_id}),
                );
            }
            secret => {
                let set = matches!(secret, StoredSecret::ClientSecret { .. });
                view.insert("client_secret_set".into(), set.into());
            }
        }
        Value::Object(view)
    }

    /// The issuer a link to a local account is keyed by: the OIDC issuer,
    /// or for a plain OAuth 2.0 provider without one, a name made from its
    /// id (so renaming its endpoints keeps its links).
    pub fn link_issuer(&self) -> String {
        match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("oauth2:{}", self.id),
        }
    }

    /// Whether `login_hint` is an e-mail address at one of this provider's
    /// `domains` (compared without case, as DNS names are).
    pub fn matches_domain(&self, login_hint: &str) -> bool {
        match login_hint.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => self.domains.contains(&domain.to_ascii_lowercase()),
            _ => false,
        }
    }
}
