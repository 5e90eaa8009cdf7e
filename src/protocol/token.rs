//! The token endpoint's wire values: request parsing (RFC 6749 §4.1.3, §6,
//! §4.4.2), access-token claims (RFC 9068), ID-token claims (OIDC Core
//! §2), the success response (RFC 6749 §5.1), and the claim checks a
//! presented access token must pass once its signature is verified.

use super::client::GrantType;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::jose::{token_hash, SigningAlg};
use super::params::Params;
use super::resource::parse_resources;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// RFC 6749 §4.1.3, with RFC 7636 §4.5 `code_verifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeExchange {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// RFC 8707 `resource`s (checked): some of those authorized.
    pub resources: Vec<String>,
}

/// RFC 6749 §6, with RFC 8707 §2.2 `resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    pub refresh_token: String,
    pub scope: Option<String>,
    pub resources: Vec<String>,
}

/// A token request, by grant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode(CodeExchange),
    RefreshToken(RefreshRequest),
    /// RFC 6749 §4.4.2.
    ClientCredentials {
        scope: Option<String>,
        resources: Vec<String>,
    },
}

impl TokenRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }
}

/// RFC 6749 §4.1.3: `grant_type` "REQUIRED", `code` "REQUIRED"; §6:
/// `refresh_token` "REQUIRED". An unknown grant type is
/// `unsupported_grant_type` (§5.2). Whether `redirect_uri` and
/// `code_verifier` are needed depends on the code, so the grant decides.
/// RFC 8707 §2.2: `resource` may come with any of them.
pub fn parse_token_request(params: &Params) -> OAuthResult<TokenRequest> {
    let owned = |name: &str| params.get(name).map(str::to_owned);
    let grant = GrantType::parse(params.require("grant_type")?)
        .ok_or_else(|| OAuthError::new(ErrorCode::UnsupportedGrantType, "the grant type is not supported"))?;
    let resources = parse_resources(params.get_all("resource"))?;
    Ok(match grant {
        GrantType::AuthorizationCode => TokenRequest::AuthorizationCode(CodeExchange {
            code: params.require("code")?.to_owned(),
            redirect_uri: owned("redirect_uri"),
            code_verifier: owned("code_verifier"),
            resources,
        }),
        GrantType::RefreshToken => TokenRequest::RefreshToken(RefreshRequest {
            refresh_token: params.require("refresh_token")?.to_owned(),
            scope: owned("scope"),
            resources,
        }),
        GrantType::ClientCredentials => TokenRequest::ClientCredentials {
            scope: owned("scope"),
            resources,
        },
    })
}

/// What goes into a JWT access token.
pub struct AccessTokenClaims<'a> {
    pub issuer: &'a str,
    /// Never empty (`resource::audience`).
    pub audience: &'a [String],
    /// For `client_credentials`, the client's own id (RFC 9068 §2.2).
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub now: u64,
    pub ttl: u64,
    pub jti: &'a str,
    /// The grant's Durable Object id, as the private claim `gid`.
    pub grant_id: Option<&'a str>,
    pub auth_time: Option<u64>,
}

/// RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti`
/// are REQUIRED; `auth_time` when the user authenticated; §2.2.3: "If an
/// authorization request includes a scope parameter, the corresponding
/// issued JWT access token SHOULD include a scope claim". `gid` names the
/// grant so a resource can check whether it has been revoked. RFC 7519
/// §4.1.3: "In the special case when the JWT has one audience, the aud
/// value MAY be a single case-sensitive string"; so one is, as before
/// resource indicators.
pub fn access_token_claims(c: &AccessTokenClaims) -> Value {
    let aud = match c.audience {
        [one] => json!(one),
        many => json!(many),
    };
    let mut claims = json!({
        "iss": c.issuer,
        "exp": c.now.saturating_add(c.ttl),
        "aud": aud,
        "sub": c.sub,
        "client_id": c.client_id,
        "iat": c.now,
        "jti": c.jti,
    });
    if !c.scope.is_empty() {
        claims["scope"] = c.scope.into();
    }
    if let Some(t) = c.auth_time {
        claims["auth_time"] = t.into();
    }
    if let Some(gid) = c.grant_id {
        claims["gid"] = gid.into();
    }
    claims
}

/// What goes into an ID token.
pub struct IdTokenClaims<'a> {
    pub issuer: &'a str,
    pub sub: &'a str,
    pub client_id: &'a str,
    pub now: u64,
    pub ttl: u64,
    pub auth_time: u64,
    /// RFC 8176 methods of the sign-in; none left out.
    pub amr: &'a [String],
    /// The class the sign-in achieved, when one was requested.
    pub acr: Option<&'a str>,
    /// The upstream provider the person signed in through (our id for it).
    pub idp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    /// The access token issued alongside, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The algorithm the ID token will be signed with.
    pub alg: SigningAlg,
    pub sid: Option<&'a str>,
}

/// OIDC Core §2: `iss`, `sub`, `aud` (which "MUST contain the OAuth 2.0
/// client_id"), `exp` and `iat` are REQUIRED; `auth_time` because we always
/// know it; "If present in the Authentication Request, Authorization Servers
/// MUST include a nonce Claim in the ID Token with the Claim Value being the
/// nonce value sent in the Authentication Request" (absent otherwise).
/// §3.1.3.6: `at_hash` when an access token is issued with the ID token.
/// §2: `amr` is a "JSON array of strings that are identifiers for
/// authentication methods used in the authentication", `acr` a "String
/// specifying an Authentication Context Class Reference value".
/// Profile and email claims are served by userinfo, not here.
pub fn id_token_claims(c: &IdTokenClaims) -> Value {
    let mut claims = json!({
        "iss": c.issuer,
        "sub": c.sub,
        "aud": c.client_id,
        "exp": c.now.saturating_add(c.ttl),
        "iat": c.now,
        "auth_time": c.auth_time,
        "azp": c.client_id,
    });
    if let Some(nonce) = c.nonce {
        claims["nonce"] = nonce.into();
    }
    if let Some(at) = c.access_token {
        claims["at_hash"] = token_hash(c.alg, at).into();
    }
    if let Some(sid) = c.sid {
        claims["sid"] = sid.into();
    }
    if !c.amr.is_empty() {
        claims["amr"] = c.amr.into();
    }
    if let Some(acr) = c.acr {
        claims["acr"] = acr.into();
    }
    // Not a registered claim: OIDC Core §5.1.2 lets a provider add its own.
    // RFC 8176 has no `amr` value for "signed in elsewhere", so this says it.
    if let Some(idp) = c.idp {
        claims["idp"] = idp.into();
    }
    claims
}

/// A successful token response.
pub struct TokenResponse<'a> {
    pub access_token: &'a str,
    pub expires_in: u64,
    pub scope: &'a str,
    pub id_token: Option<&'a str>,
    pub refresh_token: Option<&'a str>,
}

/// RFC 6749 §5.1: `access_token`, `token_type` (RFC 6750 "Bearer"),
/// `expires_in`, `scope`, and `refresh_token` when one is issued; OIDC Core
/// §3.1.3.3 adds `id_token`. An empty scope is left out, since RFC 6749 §3.3
/// has no empty scope value.
pub fn token_response(r: &TokenResponse) -> Value {
    let mut out = json!({
        "access_token": r.access_token,
        "token_type": "Bearer",
        "expires_in": r.expires_in,
    });
    if !r.scope.is_empty() {
        out["scope"] = r.scope.into();
    }
    if let Some(t) = r.id_token {
        out["id_token"] = t.into();
    }
    if let Some(t) = r.refresh_token {
        out["refresh_token"] = t.into();
    }
    out
}

/// An access token whose claims have passed [`check_access_token_claims`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAccessToken {
    pub sub: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub aud: Value,
    pub grant_id: Option<String>,
    pub jti: String,
}

/// RFC 7009 §2.1 for an access token with no grant behind it (client
/// credentials): "the token cannot be used again after the revocation", so
/// its `jti` is remembered until the token would have expired anyway.
/// Tokens of a grant need no such record: revoking the grant covers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokedAccessToken {
    pub jti: String,
    pub expires_at: u64,
}

impl VerifiedAccessToken {
    /// RFC 7519 §4.1.3: "Each principal intended to process the JWT MUST
    /// identify itself with a value in the audience claim. If the principal
    /// processing the claim does not identify itself with a value in the
    /// aud claim when this claim is present, then the JWT MUST be rejected."
    pub fn is_for(&self, audience: &str) -> bool {
        match &self.aud {
            Value::String(one) => one == audience,
            Value::Array(many) => many.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        }
    }
}

impl RevokedAccessToken {
    pub fn of(token: &VerifiedAccessToken) -> Option<Self> {
        token.grant_id.is_none().then(|| Self {
            jti: token.jti.clone(),
            expires_at: token.exp,
        })
    }
}

fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// RFC 7515 §4.1.9: `typ` is a media type whose "application/" prefix may
/// be left out, compared case-insensitively.
fn is_at_jwt(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "at+jwt" || typ == "application/at+jwt"
}

/// Checks the claims of an access token whose signature has been verified.
///
/// RFC 9068 §4: "Resource servers MUST verify that the typ header value is
/// at+jwt or application/at+jwt and reject tokens carrying any other
/// value" (so an ID token cannot pass as an access token); "The issuer
/// identifier ... MUST exactly match the value of the iss claim"; "The
/// current time MUST be before the time represented by the exp claim".
pub fn check_access_token_claims(
    typ: &str,
    claims: &Map<String, Value>,
    issuer: &str,
    now: u64,
) -> OAuthResult<VerifiedAccessToken> {
    if !is_at_jwt(typ) {
        return Err(invalid_token("the token is not an access token"));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(invalid_token("the access token was not issued here"));
    }
    let malformed = || invalid_token("the access token is malformed");
    let num = |name: &str| claims.get(name).and_then(Value::as_u64).ok_or_else(malformed);
    let text = |name: &str| {
        let v = claims.get(name).and_then(Value::as_str);
        v.map(str::to_owned).ok_or_else(malformed)
    };
    let exp = num("exp")?;
    if exp <= now {
        return Err(invalid_token("the access token has expired"));
    }
    let aud = claims.get("aud").cloned().ok_or_else(malformed)?;
    let aud_ok = aud.is_string()
        || aud
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
    if !aud_ok {
        return Err(malformed());
    }
    let scope = match claims.get("scope") {
        None => Vec::new(),
        Some(s) => s
            .as_str()
            .ok_or_else(malformed)?
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let grant_id = match claims.get("gid") {
        None => None,
        Some(g) => Some(g.as_str().ok_or_else(malformed)?.to_owned()),
    };
    Ok(VerifiedAccessToken {
        sub: text("sub")?,
        client_id: text("client_id")?,
        scope,
        exp,
        iat: num("iat")?,
        aud,
        grant_id,
        jti: text("jti")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::params::parse_form;

    #[test]
    fn request_parsing() {
        let code = |c: &str, r: Option<&str>, v: Option<&str>| {
            TokenRequest::AuthorizationCode(CodeExchange {
                code: c.into(),
                redirect_uri: r.map(Into::into),
                code_verifier: v.map(Into::into),
                resources: Vec::new(),
            })
        };
        let refresh = TokenRequest::RefreshToken(RefreshRequest {
            refresh_token: "r".into(),
            scope: Some("openid".into()),
            resources: Vec::new(),
        });
        let cc = |resources: &[&str]| TokenRequest::ClientCredentials {
            scope: None,
            resources: resources.iter().map(|r| r.to_string()).collect(),
        };
        let target = Err(ErrorCode::InvalidTarget);
        let (missing, unsupported) = (Err(ErrorCode::InvalidRequest), Err(ErrorCode::UnsupportedGrantType));
        let full = "code=x&redirect_uri=https%3A%2F%2Fa%2Fcb&code_verifier=v";
        let cases = [
            ("grant_type=authorization_code&code=x", Ok(code("x", None, None))),
            (
                &format!("grant_type=authorization_code&{full}"),
                Ok(code("x", Some("https://a/cb"), Some("v"))),
            ),
            ("grant_type=refresh_token&refresh_token=r&scope=openid", Ok(refresh)),
            ("grant_type=client_credentials", Ok(cc(&[]))),
            (
                "grant_type=client_credentials&resource=urn%3Aa&resource=urn%3Ab",
                Ok(cc(&["urn:a", "urn:b"])),
            ),
            ("grant_type=client_credentials&resource=%2Fapi", target.clone()),
            (
                "grant_type=refresh_token&refresh_token=r&resource=urn%3Aa%23f",
                target.clone(),
            ),
            ("grant_type=authorization_code&code=x&resource=api", target),
            ("", missing.clone()),
            ("code=x", missing.clone()),
            ("grant_type=authorization_code", missing.clone()),
            ("grant_type=authorization_code&code=", missing.clone()),
            ("grant_type=refresh_token", missing),
            ("grant_type=password&username=u", unsupported.clone()),
            ("grant_type=implicit", unsupported),
        ];
        for (body, expected) in cases {
            let got = parse_token_request(&parse_form(body).unwrap()).map_err(|e| e.code);
            assert_eq!(got, expected, "{body}");
        }
        assert_eq!(cc(&[]).grant_type(), GrantType::ClientCredentials);
        assert_eq!(code("x", None, None).grant_type(), GrantType::AuthorizationCode);
    }

    const ISS: &str = "https://op.example";

    fn at_claims<'a>(sub: &'a str, scope: &'a str, gid: Option<&'a str>, auth: Option<u64>) -> Value {
        access_token_claims(&AccessTokenClaims {
            issuer: ISS,
            audience: &["https://api.example".to_string()],
            sub,
            client_id: "c1",
            scope,
            now: 1000,
            ttl: 3600,
            jti: "j1",
            grant_id: gid,
            auth_time: auth,
        })
    }

    #[test]
    fn access_token_claims_follow_rfc_9068() {
        let v = at_claims("alice", "openid email", Some("g1"), Some(900));
        assert_eq!(
            v,
            json!({"iss": ISS, "exp": 4600, "aud": "https://api.example", "sub": "alice",
            "client_id": "c1", "iat": 1000, "jti": "j1", "scope": "openid email", "auth_time": 900, "gid": "g1"})
        );
        // client_credentials: sub is the client itself, no user, no grant.
        let cc = at_claims("c1", "", None, None);
        assert_eq!(cc["sub"], cc["client_id"]);
        for absent in ["scope", "auth_time", "gid"] {
            assert!(cc.get(absent).is_none(), "{absent}");
        }
        let two = ["urn:a".to_string(), format!("{ISS}/userinfo")];
        let many = access_token_claims(&AccessTokenClaims {
            issuer: ISS,
            audience: &two,
            sub: "alice",
            client_id: "c1",
            scope: "",
            now: 1000,
            ttl: 60,
            jti: "j",
            grant_id: None,
            auth_time: None,
        });
        assert_eq!(many["aud"], json!(["urn:a", "https://op.example/userinfo"]));
    }

    #[test]
    fn a_token_is_for_the_audiences_it_names() {
        let one = checked("at+jwt", "", None).unwrap();
        assert!(one.is_for("https://api.example"));
        assert!(!one.is_for("https://op.example/userinfo"));
        let many = checked("at+jwt", "aud", Some(json!(["urn:a", "https://op.example/userinfo"]))).unwrap();
        assert!(many.is_for("https://op.example/userinfo") && many.is_for("urn:a"));
        assert!(!many.is_for("urn:b"));
    }

    fn id_claims(alg: SigningAlg, nonce: Option<&str>, at: Option<&str>, sid: Option<&str>) -> Value {
        signed_in_claims(alg, nonce, at, sid, &["pwd".to_string()], None)
    }

    fn signed_in_claims(
        alg: SigningAlg,
        nonce: Option<&str>,
        at: Option<&str>,
        sid: Option<&str>,
        amr: &[String],
        acr: Option<&str>,
    ) -> Value {
        id_token_claims(&IdTokenClaims {
            issuer: ISS,
            sub: "alice",
            client_id: "c1",
            now: 1000,
            ttl: 600,
            auth_time: 990,
            amr,
            acr,
            idp: None,
            nonce,
            access_token: at,
            alg,
            sid,
        })
    }

    #[test]
    fn id_token_claims_follow_oidc_core() {
        let v = id_claims(SigningAlg::RS256, Some("n-0S6_WzA2Mj"), Some("abc"), Some("s1"));
        assert_eq!(
            v,
            json!({"iss": ISS, "sub": "alice", "aud": "c1", "exp": 1600, "iat": 1000,
            "auth_time": 990, "azp": "c1", "nonce": "n-0S6_WzA2Mj", "sid": "s1", "amr": ["pwd"],
            // Left half of SHA-256("abc") (FIPS 180-2 B.1), base64url.
            "at_hash": "ungWv48Bz-pBQUDeXa4iIw"})
        );
        let ed = id_claims(SigningAlg::EdDSA, None, Some("abc"), None);
        assert_eq!(ed["at_hash"], token_hash(SigningAlg::EdDSA, "abc"));
        assert_ne!(ed["at_hash"], v["at_hash"]);
        for absent in ["nonce", "sid"] {
            assert!(ed.get(absent).is_none(), "{absent}");
        }
        assert!(id_claims(SigningAlg::ES256, None, None, None).get("at_hash").is_none());
        for profile in ["email", "name", "preferred_username"] {
            assert!(v.get(profile).is_none(), "{profile}");
        }
        assert!(v.get("acr").is_none(), "no acr unless one was requested and achieved");
    }

    #[test]
    fn id_tokens_say_how_the_person_signed_in() {
        let passkey = ["hwk".to_string(), "user".to_string()];
        let claims = |amr, acr| signed_in_claims(SigningAlg::ES256, None, None, None, amr, acr);
        let v = claims(&passkey, Some("phr"));
        assert_eq!((&v["amr"], &v["acr"]), (&json!(["hwk", "user"]), &json!("phr")));
        let none = claims(&[], None);
        assert!(none.get("amr").is_none() && none.get("acr").is_none());
    }

    #[test]
    fn token_responses() {
        let full = token_response(&TokenResponse {
            access_token: "a",
            expires_in: 3600,
            scope: "openid",
            id_token: Some("i"),
            refresh_token: Some("r"),
        });
        assert_eq!(
            full,
            json!({"access_token": "a", "token_type": "Bearer", "expires_in": 3600,
            "scope": "openid", "id_token": "i", "refresh_token": "r"})
        );
        let bare = token_response(&TokenResponse {
            access_token: "a",
            expires_in: 60,
            scope: "",
            id_token: None,
            refresh_token: None,
        });
        assert_eq!(
            bare,
            json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60})
        );
    }

    /// Checks the claims of `at_claims` after setting (or, with `None`,
    /// removing) one claim; returns the error description.
    fn checked(typ: &str, name: &str, value: Option<Value>) -> Result<VerifiedAccessToken, String> {
        let mut claims = at_claims("alice", "openid  email", Some("g1"), None);
        let claims = claims.as_object_mut().unwrap();
        match value {
            Some(v) => claims.insert(name.into(), v),
            None => claims.remove(name),
        };
        check_access_token_claims(typ, claims, ISS, 2000).map_err(|e| {
            assert_eq!((e.code, e.status), (ErrorCode::InvalidToken, 401));
            e.description.into_owned()
        })
    }

    #[test]
    fn access_token_checks() {
        let ok = checked("at+jwt", "", None).unwrap();
        let strings = (ok.sub.as_str(), ok.client_id.as_str(), ok.jti.as_str());
        assert_eq!(strings, ("alice", "c1", "j1"));
        assert_eq!(
            (ok.scope, ok.exp, ok.iat),
            (vec!["openid".into(), "email".into()], 4600, 1000)
        );
        assert_eq!((ok.aud, ok.grant_id), (json!("https://api.example"), Some("g1".into())));
        let (not_at, foreign) = (
            "the token is not an access token",
            "the access token was not issued here",
        );
        let (expired, bad) = ("the access token has expired", "the access token is malformed");
        let cases = [
            ("application/AT+JWT", "", None, None),
            ("at+jwt", "scope", None, None),
            ("at+jwt", "gid", None, None),
            ("at+jwt", "aud", Some(json!(["a", "b"])), None),
            ("JWT", "", None, Some(not_at)),
            ("", "", None, Some(not_at)),
            ("at+jwt", "iss", Some(json!("https://evil")), Some(foreign)),
            ("at+jwt", "iss", None, Some(foreign)),
            ("at+jwt", "exp", Some(json!(2000)), Some(expired)),
            ("at+jwt", "exp", Some(json!("4600")), Some(bad)),
            ("at+jwt", "sub", None, Some(bad)),
            ("at+jwt", "jti", None, Some(bad)),
            ("at+jwt", "iat", None, Some(bad)),
            ("at+jwt", "client_id", Some(json!(1)), Some(bad)),
            ("at+jwt", "aud", Some(json!([])), Some(bad)),
            ("at+jwt", "scope", Some(json!(["a"])), Some(bad)),
            ("at+jwt", "gid", Some(json!(7)), Some(bad)),
        ];
        for (typ, name, value, expected) in cases {
            let got = checked(typ, name, value.clone()).err();
            assert_eq!(got.as_deref(), expected, "{typ} {name} {value:?}");
        }
    }

    #[test]
    fn only_grantless_access_tokens_need_a_revocation_record() {
        let of_grant = checked("at+jwt", "", None).unwrap();
        assert_eq!(RevokedAccessToken::of(&of_grant), None);
        let client_token = checked("at+jwt", "gid", None).unwrap();
        assert_eq!(
            RevokedAccessToken::of(&client_token),
            Some(RevokedAccessToken {
                jti: "j1".into(),
                expires_at: 4600
            })
        );
    }
}
