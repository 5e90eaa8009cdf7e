//! The one error type. Every failure a client can see is an [`OAuthError`]:
//! an RFC error code, a description that is safe to show, and the HTTP status.
//! Internal detail never goes into `error_description`; callers log it.

use serde::Serialize;
use std::borrow::Cow;

/// Error codes from RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2,
/// RFC 7009, RFC 8707 §2, and OIDC Core §3.1.2.6, serialised by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
    InvalidScope,
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown,
    /// or malformed." 400 at the token endpoint, redirected at /authorize.
    InvalidTarget,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    InvalidRedirectUri,
    InvalidClientMetadata,
    /// Not an RFC code: an unknown path. Kept in the same JSON shape.
    NotFound,
    /// Not an RFC code: a known path with the wrong method.
    MethodNotAllowed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The status each code carries unless a call site says otherwise.
    /// RFC 6749 §5.2: 400 for all token errors except `invalid_client` (401).
    fn default_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope | Self::AccessDenied => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// Which `WWW-Authenticate` challenge a 401 answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// RFC 6749 §5.2: the client tried HTTP Basic authentication.
    Basic,
    /// RFC 6750 §3: a protected resource (userinfo).
    Bearer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    pub status: u16,
    pub challenge: Option<Challenge>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            status: code.default_status(),
            challenge: None,
        }
    }

    /// RFC 9110 §10.2.3 `Retry-After`, in seconds, when the client may
    /// try again: a 503 is a storage failure ([`temporarily_unavailable`]).
    pub fn retry_after(&self) -> Option<u64> {
        (self.status == 503).then_some(UNAVAILABLE_RETRY_AFTER)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// RFC 6749 §5.2 body: `{"error": ..., "error_description": ...}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&ErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
        })
        .unwrap_or_default()
    }

    /// The `WWW-Authenticate` value, when this error needs one.
    /// RFC 6750 §3: a request without any token gets a bare challenge, one
    /// with a bad token gets `error="invalid_token"`.
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        match self.challenge? {
            Challenge::Basic => Some(format!("Basic realm=\"{}\"", realm)),
            Challenge::Bearer if self.code == ErrorCode::InvalidRequest && self.status == 401 => {
                Some(format!("Bearer realm=\"{}\"", realm))
            }
            Challenge::Bearer => Some(format!(
                "Bearer realm=\"{}\", error=\"{}\", error_description=\"{}\"",
                realm,
                self.code.as_str(),
                self.description.replace(['"', '\\'], "'")
            )),
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// Shorthands used across the protocol module.
pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, d)
}

pub fn server_error() -> OAuthError {
    OAuthError::new(ErrorCode::ServerError, "the server could not complete the request")
}

/// How long a client is asked to wait after a storage failure. A Durable
/// Object or KV call that fails is most often an object being reset or
/// moved, or a location's brief trouble, which clears within seconds; and a
/// code lives only `CODE_TTL` (60 s by default), so the client must be able
/// to retry well within that. Five seconds leaves room for several tries.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// A storage or platform failure (a Durable Object or KV namespace that
/// cannot be reached): 503 with `Retry-After` (RFC 9110 §15.6.4). RFC 6749
/// §4.1.2.1 defines `temporarily_unavailable` for the authorization
/// endpoint ("a 503 Service Unavailable HTTP status code cannot be returned
/// to the client via an HTTP redirect"); every other endpoint answers the
/// same code, with the status that it stands for. Nothing was used up: the
/// same request may be sent again.
pub fn temporarily_unavailable() -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the service is briefly unavailable; try again in a few seconds",
    )
}

pub type OAuthResult<T> = Result<T, OAuthError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_rfc_field_names() {
        let e = OAuthError::new(ErrorCode::InvalidGrant, "code \"x\" expired");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["error"], "invalid_grant");
        assert_eq!(v["error_description"], "code \"x\" expired");
        assert_eq!(v.as_object().unwrap().len(), 2);
    }

    #[test]
    fn statuses_follow_rfc_6749_section_5_2() {
        assert_eq!(OAuthError::new(ErrorCode::InvalidClient, "").status, 401);
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::InvalidTarget,
        ] {
            assert_eq!(OAuthError::new(code, "").status, 400, "{:?}", code);
        }
        assert_eq!(OAuthError::new(ErrorCode::NotFound, "").status, 404);
    }

    #[test]
    fn unavailable_is_503_with_retry_after_and_no_challenge() {
        let e = temporarily_unavailable();
        assert_eq!((e.status, e.retry_after()), (503, Some(UNAVAILABLE_RETRY_AFTER)));
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["error"], "temporarily_unavailable");
        // RFC 6750 §3: a challenge is for a request lacking a usable token;
        // this one's token may be fine.
        assert!(e.www_authenticate("r").is_none());
        assert_eq!(server_error().retry_after(), None);
    }

    #[test]
    fn challenges() {
        let basic = OAuthError::new(ErrorCode::InvalidClient, "bad").with_challenge(Challenge::Basic);
        assert_eq!(basic.www_authenticate("r").unwrap(), "Basic realm=\"r\"");
        let missing = invalid_request("no token")
            .with_status(401)
            .with_challenge(Challenge::Bearer);
        assert_eq!(missing.www_authenticate("r").unwrap(), "Bearer realm=\"r\"");
        let bad = OAuthError::new(ErrorCode::InvalidToken, "token \"expired\"").with_challenge(Challenge::Bearer);
        assert_eq!(
            bad.www_authenticate("r").unwrap(),
            "Bearer realm=\"r\", error=\"invalid_token\", error_description=\"token 'expired'\""
        );
        assert!(OAuthError::new(ErrorCode::InvalidGrant, "")
            .www_authenticate("r")
            .is_none());
    }
}
