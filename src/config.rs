//! Settings, read once per isolate from Worker variables and secrets.
//! Parsing is separate from reading so it tests on the host.

use crate::protocol::client::is_loopback;
use crate::protocol::client_document::{parse_trusted_hosts, DocumentPolicy};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::jose::SigningAlg;
use crate::protocol::resource::parse_allow_list;
use crate::protocol::user::{parse_password_iterations, PASSWORD_ITERATIONS_MAX};

/// RFC 6797 §7.1: "An HSTS Host MUST NOT include the STS header field in
/// HTTP responses conveyed over non-secure transport", so it is sent, on
/// every response, only when the issuer is https. Two years, as browsers'
/// preload lists ask; subdomains too, since an issuer's subdomains serve
/// the same people (`preload` is left to the domain's owner).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// Whether `issuer` is served over https: cookies then get `Secure`, and
/// every response `Strict-Transport-Security`.
pub fn is_https(issuer: &str) -> bool {
    issuer.starts_with("https://")
}

/// Whether a request's origin is local development (a loopback host:
/// `127.0.0.1`, `localhost`, `[::1]`), where an unset `ISSUER` is expected.
pub fn is_local_origin(origin: &str) -> bool {
    url::Url::parse(origin).is_ok_and(|u| is_loopback(u.host()))
}

/// When a code grant also yields a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenPolicy {
    /// Every code grant whose client may use `refresh_token`.
    Always,
    /// Only when `offline_access` was granted (OIDC Core §11).
    OfflineAccess,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `ISSUER`; when unset (development), the request's origin is used,
    /// with a warning outside loopback hosts.
    pub issuer: Option<String>,
    /// `ADMIN_TOKEN` secret: the initial access token for `/register` and
    /// the bearer token of `/admin/*`.
    pub admin_token: Option<String>,
    /// `SIGNING_KEYS` secret: a private JWK set replacing the automatic ring.
    pub signing_keys: Option<String>,
    pub access_token_ttl: u64,
    /// `ACCESS_TOKEN_SIGNING_ALG`: what JWT access tokens are signed with.
    pub access_token_alg: SigningAlg,
    pub id_token_ttl: u64,
    pub code_ttl: u64,
    pub refresh_token_policy: RefreshTokenPolicy,
    /// A refresh token unused for this long expires.
    pub refresh_token_idle_ttl: u64,
    /// A grant's refresh tokens expire this long after the grant, whatever use.
    pub refresh_token_absolute_ttl: u64,
    pub session_ttl: u64,
    /// How long a signing key signs before a new one replaces it.
    pub key_rotation_interval: u64,
    /// `ALLOWED_RESOURCES`: the RFC 8707 resources any client may ask for
    /// (`protocol::resource`); empty: any absolute URI.
    pub allowed_resources: Vec<String>,
    /// Which Client ID Metadata Documents are fetched:
    /// `CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK` (development) and
    /// `CLIENT_ID_DOCUMENT_HOSTS` (`protocol::client_document`).
    pub client_documents: DocumentPolicy,
    /// `OPEN_REGISTRATION` (`on` | `off`): whether anyone may register a
    /// client without an initial access token (`protocol::open_registration`).
    pub open_registration: bool,
    /// `OPEN_REGISTRATION_UNUSED_TTL`: a self-registered client that has
    /// got no token this long after registering is gone.
    pub open_registration_unused_ttl: u64,
    /// `PASSWORD_ITERATIONS`: the PBKDF2-HMAC-SHA256 iterations of the
    /// password hashes made from now on (each stored hash keeps its own).
    pub password_iterations: u32,
    /// `ADMIN_SESSION_IDLE_TTL`: an admin console session unused this long
    /// ends.
    pub admin_session_idle_ttl: u64,
    /// `ADMIN_REAUTH_TTL`: how long a console sign-in counts as recent
    /// enough for destructive actions.
    pub admin_reauth_ttl: u64,
    /// `AUDIT_LOG_TTL`: how long the audit log keeps an entry.
    pub audit_log_ttl: u64,
}

/// The defaults, documented in the README's configuration table.
pub const DEFAULTS: Config = Config {
    issuer: None,
    admin_token: None,
    signing_keys: None,
    access_token_ttl: 3600,
    access_token_alg: SigningAlg::ES256,
    id_token_ttl: 3600,
    code_ttl: 60,
    refresh_token_policy: RefreshTokenPolicy::OfflineAccess,
    refresh_token_idle_ttl: 30 * 86_400,
    refresh_token_absolute_ttl: 90 * 86_400,
    session_ttl: 86_400,
    key_rotation_interval: 30 * 86_400,
    allowed_resources: Vec::new(),
    client_documents: DocumentPolicy {
        allow_http_loopback: false,
        hosts: Vec::new(),
    },
    open_registration: false,
    open_registration_unused_ttl: 86_400,
    password_iterations: PASSWORD_ITERATIONS_MAX,
    admin_session_idle_ttl: 1800,
    admin_reauth_ttl: 300,
    audit_log_ttl: 90 * 86_400,
};

impl Default for Config {
    fn default() -> Self {
        DEFAULTS
    }
}

impl Config {
    /// Builds the settings from a variable lookup. A malformed value is an
    /// error rather than a silent default: a typo in a TTL should not ship.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, OAuthError> {
        let d = Self::default();
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let secs = |name: &str, default: u64| -> Result<u64, OAuthError> {
            match non_empty(name) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    OAuthError::new(
                        ErrorCode::ServerError,
                        format!("{name} must be a positive number of seconds"),
                    )
                }),
            }
        };
        // A setting that is one of two words; unset is the first.
        let switch = |name: &str, off: &str, on: &str| -> Result<bool, OAuthError> {
            match non_empty(name).as_deref().map(str::trim) {
                None => Ok(false),
                Some(v) if v == off => Ok(false),
                Some(v) if v == on => Ok(true),
                Some(_) => Err(OAuthError::new(
                    ErrorCode::ServerError,
                    format!("{name} must be `{on}` or `{off}`"),
                )),
            }
        };
        // A list setting, unset is empty; `parse` says which entry is bad.
        let list = |name: &str, parse: fn(&str) -> Result<Vec<String>, String>| -> Result<Vec<String>, OAuthError> {
            match non_empty(name) {
                None => Ok(Vec::new()),
                Some(v) => parse(&v).map_err(|why| OAuthError::new(ErrorCode::ServerError, format!("{name}: {why}"))),
            }
        };
        let refresh_token_policy = match switch("REFRESH_TOKEN_POLICY", "offline_access", "always")? {
            false => RefreshTokenPolicy::OfflineAccess,
            true => RefreshTokenPolicy::Always,
        };
        let access_token_alg = match non_empty("ACCESS_TOKEN_SIGNING_ALG") {
            None => d.access_token_alg,
            Some(v) => SigningAlg::parse(v.trim()).ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::ServerError,
                    "ACCESS_TOKEN_SIGNING_ALG must be RS256, ES256 or EdDSA",
                )
            })?,
        };
        let password_iterations = match non_empty("PASSWORD_ITERATIONS") {
            None => d.password_iterations,
            Some(v) => parse_password_iterations(&v)
                .map_err(|why| OAuthError::new(ErrorCode::ServerError, format!("PASSWORD_ITERATIONS {why}")))?,
        };
        Ok(Self {
            issuer: non_empty("ISSUER").map(|s| s.trim().trim_end_matches('/').to_string()),
            admin_token: non_empty("ADMIN_TOKEN"),
            signing_keys: non_empty("SIGNING_KEYS"),
            access_token_ttl: secs("ACCESS_TOKEN_TTL", d.access_token_ttl)?,
            access_token_alg,
            id_token_ttl: secs("ID_TOKEN_TTL", d.id_token_ttl)?,
            code_ttl: secs("CODE_TTL", d.code_ttl)?,
            refresh_token_policy,
            refresh_token_idle_ttl: secs("REFRESH_TOKEN_IDLE_TTL", d.refresh_token_idle_ttl)?,
            refresh_token_absolute_ttl: secs("REFRESH_TOKEN_ABSOLUTE_TTL", d.refresh_token_absolute_ttl)?,
            session_ttl: secs("SESSION_TTL", d.session_ttl)?,
            key_rotation_interval: secs("KEY_ROTATION_INTERVAL", d.key_rotation_interval)?,
            allowed_resources: list("ALLOWED_RESOURCES", parse_allow_list)?,
            client_documents: DocumentPolicy {
                allow_http_loopback: switch("CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK", "false", "true")?,
                hosts: list("CLIENT_ID_DOCUMENT_HOSTS", parse_trusted_hosts)?,
            },
            open_registration: switch("OPEN_REGISTRATION", "off", "on")?,
            open_registration_unused_ttl: secs("OPEN_REGISTRATION_UNUSED_TTL", d.open_registration_unused_ttl)?,
            password_iterations,
            admin_session_idle_ttl: secs("ADMIN_SESSION_IDLE_TTL", d.admin_session_idle_ttl)?,
            admin_reauth_ttl: secs("ADMIN_REAUTH_TTL", d.admin_reauth_ttl)?,
            audit_log_ttl: secs("AUDIT_LOG_TTL", d.audit_log_ttl)?,
        })
    }

    /// The longest a token signed with a key stays valid: a retired key must
    /// stay published at least this long.
    pub fn max_signed_token_ttl(&self) -> u64 {
        self.access_token_ttl.max(self.id_token_ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, OAuthError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.access_token_ttl, 3600);
        assert_eq!(c.code_ttl, 60);
        assert_eq!(c.refresh_token_policy, RefreshTokenPolicy::OfflineAccess);
        assert!(c.issuer.is_none() && c.admin_token.is_none());
    }

    #[test]
    fn reads_values_and_trims_issuer() {
        let c = cfg(&[
            ("ISSUER", "https://id.example.com/"),
            ("ACCESS_TOKEN_TTL", "600"),
            ("REFRESH_TOKEN_POLICY", "always"),
            ("ADMIN_TOKEN", "s3cret"),
        ])
        .unwrap();
        assert_eq!(c.issuer.as_deref(), Some("https://id.example.com"));
        assert_eq!(c.access_token_ttl, 600);
        assert_eq!(c.refresh_token_policy, RefreshTokenPolicy::Always);
        assert_eq!(c.admin_token.as_deref(), Some("s3cret"));
    }

    #[test]
    fn rejects_malformed_values() {
        assert!(cfg(&[("ACCESS_TOKEN_TTL", "1h")]).is_err());
        assert!(cfg(&[("CODE_TTL", "0")]).is_err());
        assert!(cfg(&[("REFRESH_TOKEN_POLICY", "sometimes")]).is_err());
        assert!(cfg(&[("ACCESS_TOKEN_SIGNING_ALG", "HS256")]).is_err());
        assert_eq!(
            cfg(&[("ACCESS_TOKEN_SIGNING_ALG", "RS256")]).unwrap().access_token_alg,
            SigningAlg::RS256
        );
        assert!(cfg(&[("ISSUER", "  ")]).unwrap().issuer.is_none());
    }

    #[test]
    fn allowed_resources() {
        assert!(cfg(&[]).unwrap().allowed_resources.is_empty());
        let c = cfg(&[("ALLOWED_RESOURCES", "https://mcp.example.com/mcp, https://api.example/")]).unwrap();
        assert_eq!(
            c.allowed_resources,
            ["https://mcp.example.com/mcp", "https://api.example/"]
        );
        for bad in ["/mcp", "https://a.example/#x", ","] {
            let e = cfg(&[("ALLOWED_RESOURCES", bad)]).unwrap_err();
            assert!(
                e.description.starts_with("ALLOWED_RESOURCES: "),
                "{bad}: {}",
                e.description
            );
        }
    }

    #[test]
    fn client_document_settings() {
        assert_eq!(cfg(&[]).unwrap().client_documents, DocumentPolicy::default());
        let c = cfg(&[
            ("CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK", "true"),
            ("CLIENT_ID_DOCUMENT_HOSTS", "app.example *.clients.example"),
        ])
        .unwrap();
        assert!(c.client_documents.allow_http_loopback);
        assert_eq!(c.client_documents.hosts, ["app.example", "*.clients.example"]);
        assert!(
            !cfg(&[("CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK", "false")])
                .unwrap()
                .client_documents
                .allow_http_loopback
        );
        assert!(cfg(&[("CLIENT_ID_DOCUMENTS_ALLOW_HTTP_LOOPBACK", "yes")]).is_err());
        let e = cfg(&[("CLIENT_ID_DOCUMENT_HOSTS", "https://app.example")]).unwrap_err();
        assert!(
            e.description.starts_with("CLIENT_ID_DOCUMENT_HOSTS: "),
            "{}",
            e.description
        );
    }

    #[test]
    fn admin_console_times() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            (c.admin_session_idle_ttl, c.admin_reauth_ttl, c.audit_log_ttl),
            (1800, 300, 7_776_000)
        );
        let c = cfg(&[
            ("ADMIN_SESSION_IDLE_TTL", "2"),
            ("ADMIN_REAUTH_TTL", "1"),
            ("AUDIT_LOG_TTL", "86400"),
        ])
        .unwrap();
        assert_eq!(
            (c.admin_session_idle_ttl, c.admin_reauth_ttl, c.audit_log_ttl),
            (2, 1, 86_400)
        );
        for bad in ["0", "-1", "30m"] {
            for name in ["ADMIN_SESSION_IDLE_TTL", "ADMIN_REAUTH_TTL", "AUDIT_LOG_TTL"] {
                assert!(cfg(&[(name, bad)]).is_err(), "{name}={bad}");
            }
        }
    }

    #[test]
    fn open_registration() {
        let c = cfg(&[]).unwrap();
        assert!(!c.open_registration);
        assert_eq!(c.open_registration_unused_ttl, 86_400);
        let c = cfg(&[("OPEN_REGISTRATION", "on"), ("OPEN_REGISTRATION_UNUSED_TTL", "60")]).unwrap();
        assert!(c.open_registration);
        assert_eq!(c.open_registration_unused_ttl, 60);
        assert!(!cfg(&[("OPEN_REGISTRATION", "off")]).unwrap().open_registration);
        for bad in ["yes", "true", "ON"] {
            assert!(cfg(&[("OPEN_REGISTRATION", bad)]).is_err(), "{bad}");
        }
        assert!(cfg(&[("OPEN_REGISTRATION_UNUSED_TTL", "1d")]).is_err());
    }

    #[test]
    fn password_iterations() {
        assert_eq!(cfg(&[]).unwrap().password_iterations, 100_000);
        assert_eq!(
            cfg(&[("PASSWORD_ITERATIONS", "20000")]).unwrap().password_iterations,
            20_000
        );
        for bad in ["9999", "100001", "many", "1e5"] {
            let e = cfg(&[("PASSWORD_ITERATIONS", bad)]).unwrap_err();
            assert_eq!(
                e.description, "PASSWORD_ITERATIONS must be a whole number from 10000 to 100000",
                "{bad}"
            );
        }
    }

    #[test]
    fn local_origins_are_loopback_hosts() {
        for local in [
            "http://127.0.0.1:8787",
            "http://localhost:8787",
            "http://LOCALHOST",
            "http://[::1]:8787",
            "https://127.0.0.1",
        ] {
            assert!(is_local_origin(local), "{local}");
        }
        for public in [
            "https://id.example.com",
            "http://id.example.com:8787",
            "http://127.0.0.2",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "http://[::2]",
            "not a url",
            "",
        ] {
            assert!(!is_local_origin(public), "{public}");
        }
    }

    #[test]
    fn https_issuers() {
        assert!(is_https("https://id.example.com"));
        assert!(!is_https("http://127.0.0.1:8787"));
    }
}
