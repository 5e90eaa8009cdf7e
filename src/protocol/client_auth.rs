//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//! and `none` for public clients. [`extract`] reads what the client sent;
//! [`authenticate`] checks it against the registered client.

use super::client::{AuthMethod, ClientRecord};
use super::error::{invalid_request, Challenge, ErrorCode, OAuthError, OAuthResult};
use super::params::Params;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;

/// RFC 7617 §2 uses base64 with the standard alphabet; some clients drop the
/// padding, which costs nothing to accept.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a client presented, by the method it used.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// RFC 6749 §2.3.1 HTTP Basic (`client_secret_basic`).
    Basic { client_id: String, secret: String },
    /// RFC 6749 §2.3.1 body parameters (`client_secret_post`).
    Post { client_id: String, secret: String },
    /// RFC 6749 §2.1 public client: only `client_id` (`none`).
    Public { client_id: String },
}

/// Never prints a secret.
impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({:?})", self.method().as_str(), self.client_id())
    }
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } | Self::Post { client_id, .. } | Self::Public { client_id } => client_id,
        }
    }

    /// Whether an error answer needs `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }

    /// The RFC 7591 `token_endpoint_auth_method` this presentation amounts to.
    pub fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Public { .. } => AuthMethod::None,
        }
    }
}

/// RFC 6749 §5.2: `invalid_client` is a 401, and "If the client attempted to
/// authenticate via the "Authorization" request header field, the
/// authorization server MUST respond with an HTTP 401 (Unauthorized) status
/// code and include the "WWW-Authenticate" response header field".
fn invalid_client(description: impl Into<std::borrow::Cow<'static, str>>, basic: bool) -> OAuthError {
    let e = OAuthError::new(ErrorCode::InvalidClient, description);
    if basic {
        e.with_challenge(Challenge::Basic)
    } else {
        e
    }
}

/// `application/x-www-form-urlencoded` decoding of one Basic credential part.
fn form_urldecode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|s| s.into_owned())
}

/// The `(client_id, secret)` inside an `Authorization: Basic` value, or
/// `None` when the header uses another scheme (a Bearer token, say, is not
/// client authentication).
fn parse_basic(authorization: &str) -> Option<OAuthResult<(String, String)>> {
    let value = authorization.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 7235 §2.1: the auth-scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let malformed = || invalid_client("the Basic authorization header is malformed", true);
    let decoded = BASIC_B64.decode(token.trim()).map_err(|_| malformed());
    let pair = decoded.and_then(|bytes| String::from_utf8(bytes).map_err(|_| malformed()));
    Some(pair.and_then(|pair| {
        let (id, secret) = pair.split_once(':').ok_or_else(malformed)?;
        let (id, secret) = (form_urldecode(id), form_urldecode(secret));
        match (id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() => Ok((id, secret)),
            _ => Err(malformed()),
        }
    }))
}

/// Reads the client's credentials from the `Authorization` header and the
/// request parameters.
///
/// RFC 6749 §2.3.1: "The client identifier is encoded using the
/// "application/x-www-form-urlencoded" encoding algorithm ..., and the
/// encoded value is used as the username; the client password is encoded
/// using the same algorithm and used as the password."
/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication
/// method in each request."
pub fn extract(authorization: Option<&str>, params: &Params) -> OAuthResult<ClientCredentials> {
    let body_id = params.get("client_id");
    if let Some((client_id, secret)) = authorization.and_then(parse_basic).transpose()? {
        if params.contains("client_secret") {
            return Err(invalid_request(
                "the client MUST NOT use more than one authentication method",
            ));
        }
        if body_id.is_some_and(|id| id != client_id) {
            return Err(invalid_request("client_id does not match the Authorization header"));
        }
        return Ok(ClientCredentials::Basic { client_id, secret });
    }
    let client_id = body_id
        .ok_or_else(|| invalid_client("client authentication is required", false))?
        .to_owned();
    Ok(match params.get("client_secret") {
        Some(secret) => ClientCredentials::Post {
            client_id,
            secret: secret.to_owned(),
        },
        None => ClientCredentials::Public { client_id },
    })
}

/// How a client registered for `method` authenticates, for the error that
/// tells a client it used another method.
fn how_to_authenticate(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::ClientSecretBasic => "send client_id and client_secret in an HTTP Basic Authorization header",
        AuthMethod::ClientSecretPost => "send client_id and client_secret in the request body",
        AuthMethod::None => "it is a public client: send client_id only, with no secret",
    }
}

/// Checks presented credentials against the registered client.
///
/// RFC 6749 §3.2.1: "Confidential clients or other clients issued client
/// credentials MUST authenticate with the authorization server". The method
/// used must be the one registered (RFC 7591 §2 `token_endpoint_auth_method`),
/// so a confidential client cannot pass itself off as public. A client that
/// used another method is told which one it is registered for (its
/// developer's most common mistake; client ids are not secret, and nothing
/// about its secret is said). Every other failure (unknown client, wrong
/// secret) gets the same description, so an attacker learns nothing about
/// which part was wrong.
pub fn authenticate(creds: &ClientCredentials, client: Option<ClientRecord>) -> OAuthResult<ClientRecord> {
    let basic = creds.used_basic();
    let Some(c) = client.filter(|c| c.client_id == creds.client_id()) else {
        return Err(invalid_client("client authentication failed", basic));
    };
    let registered = c.metadata.token_endpoint_auth_method;
    if registered != creds.method() {
        return Err(invalid_client(
            format!(
                "the client is registered for token_endpoint_auth_method {} but used {}: {}",
                registered.as_str(),
                creds.method().as_str(),
                how_to_authenticate(registered)
            ),
            basic,
        ));
    }
    let ok = match creds {
        ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => c.verify_secret(secret),
        ClientCredentials::Public { .. } => !c.is_confidential(),
    };
    if ok {
        Ok(c)
    } else {
        Err(invalid_client("client authentication failed", basic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::parse_client_metadata;
    use crate::protocol::encoding::secret_hash;
    use crate::protocol::params::parse_form;
    use base64::engine::general_purpose::{STANDARD as B64, STANDARD_NO_PAD};
    use serde_json::json;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", B64.encode(user_pass))
    }

    fn extract_from(auth: Option<&str>, body: &str) -> OAuthResult<ClientCredentials> {
        extract(auth, &parse_form(body).unwrap())
    }

    fn post(id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials::Post {
            client_id: id.into(),
            secret: secret.into(),
        }
    }

    fn basic_creds(id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials::Basic {
            client_id: id.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn extraction() {
        let unpadded = format!("Basic {}", STANDARD_NO_PAD.encode("c1:s"));
        let cases: Vec<(Option<String>, &str, ClientCredentials)> = vec![
            (Some(basic("c1:s3cret")), "", basic_creds("c1", "s3cret")),
            (Some(basic("c%201:a%3Ab+c")), "", basic_creds("c 1", "a:b c")),
            (Some(basic("c1:a:b")), "", basic_creds("c1", "a:b")),
            (Some(basic("c1:")), "", basic_creds("c1", "")),
            (
                Some(basic("c1:s").replace("Basic", "bASIC")),
                "",
                basic_creds("c1", "s"),
            ),
            (Some(unpadded), "", basic_creds("c1", "s")),
            (Some(basic("c1:s")), "client_id=c1", basic_creds("c1", "s")),
            (None, "client_id=c1&client_secret=s", post("c1", "s")),
            (
                None,
                "client_id=c1",
                ClientCredentials::Public { client_id: "c1".into() },
            ),
            (
                Some("Bearer abc".into()),
                "client_id=c1",
                ClientCredentials::Public { client_id: "c1".into() },
            ),
        ];
        for (auth, body, expected) in cases {
            assert_eq!(
                extract_from(auth.as_deref(), body).unwrap(),
                expected,
                "{auth:?} {body}"
            );
        }
    }

    #[test]
    fn extraction_errors() {
        let (req, client) = (ErrorCode::InvalidRequest, ErrorCode::InvalidClient);
        let cases: Vec<(Option<String>, &str, ErrorCode, Option<Challenge>)> = vec![
            (Some("Basic !!!".into()), "", client, Some(Challenge::Basic)),
            (Some("Basic".into()), "", client, Some(Challenge::Basic)),
            (Some(basic("no-colon")), "", client, Some(Challenge::Basic)),
            (Some(basic(":s")), "", client, Some(Challenge::Basic)),
            (Some(basic("c%FF:s")), "", client, Some(Challenge::Basic)),
            (
                Some(format!("Basic {}", B64.encode([0xff, b':']))),
                "",
                client,
                Some(Challenge::Basic),
            ),
            (Some(basic("c1:s")), "client_secret=s", req, None),
            (Some(basic("c1:s")), "client_id=c2", req, None),
            (None, "", client, None),
            (None, "client_secret=s", client, None),
            (Some("Bearer abc".into()), "", client, None),
        ];
        for (auth, body, code, challenge) in cases {
            let e = extract_from(auth.as_deref(), body).unwrap_err();
            assert_eq!((e.code, e.challenge), (code, challenge), "{auth:?} {body}");
            let status = if code == client { 401 } else { 400 };
            assert_eq!(e.status, status, "{auth:?} {body}");
        }
    }

    fn record(method: &str) -> ClientRecord {
        let metadata = parse_client_metadata(&json!({
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": method,
        }))
        .unwrap();
        ClientRecord {
            client_id: "c1".into(),
            client_secret_hash: Some(secret_hash("s3cret")).filter(|_| method != "none"),
            registration_access_token_hash: secret_hash("rat"),
            client_id_issued_at: 0,
            self_registered: None,
            metadata,
        }
    }

    #[test]
    fn authentication() {
        let (sb, sp, none) = (
            record("client_secret_basic"),
            record("client_secret_post"),
            record("none"),
        );
        let public = ClientCredentials::Public { client_id: "c1".into() };
        const FAILED: &str = "client authentication failed";
        // Which method the client is registered for, when it used another.
        let wrong_method = |registered: &str, used: &str| {
            format!("the client is registered for token_endpoint_auth_method {registered} but used {used}: ")
        };
        let cases: Vec<(ClientCredentials, Option<&ClientRecord>, Option<String>)> = vec![
            (basic_creds("c1", "s3cret"), Some(&sb), None),
            (post("c1", "s3cret"), Some(&sp), None),
            (public.clone(), Some(&none), None),
            (basic_creds("c1", "s3creT"), Some(&sb), Some(FAILED.into())),
            (basic_creds("c1", ""), Some(&sb), Some(FAILED.into())),
            (post("c1", "s3creT"), Some(&sp), Some(FAILED.into())),
            (
                post("c1", "s3cret"),
                Some(&sb),
                Some(wrong_method("client_secret_basic", "client_secret_post")),
            ),
            (
                post("c1", "wrong"),
                Some(&sb),
                Some(wrong_method("client_secret_basic", "client_secret_post")),
            ),
            (
                basic_creds("c1", "s3cret"),
                Some(&sp),
                Some(wrong_method("client_secret_post", "client_secret_basic")),
            ),
            (
                public.clone(),
                Some(&sb),
                Some(wrong_method("client_secret_basic", "none")),
            ),
            (
                basic_creds("c1", "s3cret"),
                Some(&none),
                Some(wrong_method("none", "client_secret_basic")),
            ),
            (basic_creds("c2", "s3cret"), Some(&sb), Some(FAILED.into())),
            (basic_creds("c1", "s3cret"), None, Some(FAILED.into())),
            (public, None, Some(FAILED.into())),
        ];
        for (creds, client, failure) in cases {
            let got = authenticate(&creds, client.cloned());
            assert_eq!(
                got.as_ref().err().map(|_| ()),
                failure.as_ref().map(|_| ()),
                "{creds:?}"
            );
            if let (Err(e), Some(expected)) = (got, failure) {
                assert_eq!((e.code, e.status), (ErrorCode::InvalidClient, 401));
                assert!(e.description.starts_with(&expected), "{creds:?}: {}", e.description);
                if expected == FAILED {
                    assert_eq!(e.description, FAILED);
                }
                let challenge = creds.used_basic().then_some(Challenge::Basic);
                assert_eq!(e.challenge, challenge, "{creds:?}");
            }
        }
    }

    #[test]
    fn wrong_method_says_how_to_authenticate() {
        let e = authenticate(&post("c1", "s3cret"), Some(record("client_secret_basic"))).unwrap_err();
        assert!(
            e.description.ends_with("in an HTTP Basic Authorization header"),
            "{}",
            e.description
        );
        let e = authenticate(&basic_creds("c1", "s"), Some(record("none"))).unwrap_err();
        assert!(
            e.description.ends_with("send client_id only, with no secret"),
            "{}",
            e.description
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", basic_creds("c1", "s3cret"));
        assert_eq!(shown, "client_secret_basic(\"c1\")");
    }
}
