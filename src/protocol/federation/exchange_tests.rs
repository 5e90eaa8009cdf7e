//! The requests we send and the answers we read, claim mapping, and the
//! error texts.

use super::discovery::{oauth2_metadata, parse_metadata, UpstreamMetadata};
use super::identity::{identity, link_key, merge_userinfo, parse_userinfo};
use super::request::*;
use super::tests::{apple_body, github, google, google_metadata, stored, with, EC_DER_B64, EC_PEM, NOW};
use super::FederationError;
use crate::protocol::encoding::b64url_decode;
use base64::Engine;
use serde_json::{json, Map, Value};
use url::Url;

fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

fn google_meta() -> UpstreamMetadata {
    parse_metadata(google_metadata().to_string().as_bytes(), "https://accounts.google.com").unwrap()
}

#[test]
fn authorization_urls_carry_what_each_kind_needs() {
    let redirect = "https://id.example/federation/google/callback";
    let url = authorization_url(
        &google_meta(),
        &stored(&google()),
        redirect,
        "st",
        "no",
        "ch",
        Some("a@b.c"),
    );
    assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
    let expected: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "123.apps.googleusercontent.com"),
        ("redirect_uri", redirect),
        ("scope", "openid email profile"),
        ("state", "st"),
        ("code_challenge", "ch"),
        ("code_challenge_method", "S256"),
        ("nonce", "no"),
        ("login_hint", "a@b.c"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(query(&url), expected);
    // OAuth 2.0: no nonce, no login_hint; a configured query is kept.
    let gh = stored(&with(
        github(),
        json!({"authorization_endpoint": "https://github.com/login/oauth/authorize?allow_signup=false"}),
    ));
    let url = authorization_url(&oauth2_metadata(&gh), &gh, redirect, "st", "no", "ch", Some("a@b.c"));
    let q = query(&url);
    assert_eq!(q[0], ("allow_signup".into(), "false".into()));
    assert!(q.iter().all(|(k, _)| k != "nonce" && k != "login_hint"));
    assert!(q.contains(&("scope".into(), "read:user user:email".into())));
    // No scopes: no scope parameter. Form post when configured.
    let bare = stored(&with(github(), json!({"scopes": [], "response_mode": "form_post"})));
    let q = query(&authorization_url(
        &oauth2_metadata(&bare),
        &bare,
        redirect,
        "s",
        "n",
        "c",
        None,
    ));
    assert!(q.iter().all(|(k, _)| k != "scope"));
    assert!(q.contains(&("response_mode".into(), "form_post".into())));
    for base in ["https://a.example/auth?", "https://a.example/auth?x=1&"] {
        let meta = UpstreamMetadata {
            authorization_endpoint: base.into(),
            ..google_meta()
        };
        let url = authorization_url(&meta, &bare, redirect, "s", "n", "c", None);
        assert!(url.starts_with(&format!("{base}response_type=code&")), "{url}");
    }
}

#[test]
fn the_response_issuer_is_checked_when_there_is_one() {
    let meta = google_meta();
    let rfc9207 = UpstreamMetadata {
        iss_parameter_supported: true,
        ..google_meta()
    };
    let none = oauth2_metadata(&stored(&github()));
    let g = "https://accounts.google.com";
    assert_eq!(check_response_iss(&meta, Some(g)), Ok(()));
    assert_eq!(check_response_iss(&meta, None), Ok(()));
    assert_eq!(
        check_response_iss(&meta, Some("https://evil.example")),
        Err(FederationError::MixUp)
    );
    assert_eq!(
        check_response_iss(&meta, Some("https://accounts.google.com/")),
        Err(FederationError::MixUp)
    );
    assert_eq!(check_response_iss(&rfc9207, None), Err(FederationError::MixUp));
    assert_eq!(check_response_iss(&rfc9207, Some(g)), Ok(()));
    assert_eq!(check_response_iss(&none, Some("https://anything.example")), Ok(()));
}

fn header<'a>(r: &'a TokenRequest, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

#[test]
fn token_requests_authenticate_as_configured() {
    let p = stored(&with(github(), json!({"client_id": "a:b%c é"})));
    let r = token_request(
        &oauth2_metadata(&p),
        &p,
        "https://id.example/cb",
        "the-code",
        "the-verifier",
        "s:p%+",
    );
    assert_eq!(r.url, "https://github.com/login/oauth/access_token");
    assert_eq!(header(&r, "Accept"), Some("application/json"));
    assert_eq!(header(&r, "Content-Type"), Some("application/x-www-form-urlencoded"));
    // RFC 6749 §2.3.1: form-urlencoded, then base64.
    let basic = header(&r, "Authorization").unwrap().strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "a%3Ab%25c+%C3%A9:s%3Ap%25%2B");
    assert_eq!(
        form(&r.body),
        [
            ("grant_type", "authorization_code"),
            ("code", "the-code"),
            ("redirect_uri", "https://id.example/cb"),
            ("code_verifier", "the-verifier")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let post = stored(&with(
        github(),
        json!({"token_endpoint_auth_method": "client_secret_post"}),
    ));
    let r = token_request(&oauth2_metadata(&post), &post, "https://id.example/cb", "c", "v", "s&t");
    assert_eq!(header(&r, "Authorization"), None);
    let body = form(&r.body);
    assert!(body.contains(&("client_id".into(), "Iv1.abc".into())));
    assert!(body.contains(&("client_secret".into(), "s&t".into())));
    assert!(!format!("{r:?}").contains("s&t"));
}

#[test]
fn token_responses_and_their_errors() {
    let ok = br#"{"access_token":"at","token_type":"bearer","scope":"read:user","id_token":"x.y.z","expires_in":3599,"refresh_token":"rt"}"#;
    let t = parse_token_response(200, ok).unwrap();
    assert_eq!(
        (
            t.access_token.as_str(),
            t.token_type.as_str(),
            t.expires_in,
            t.id_token.as_deref()
        ),
        ("at", "bearer", Some(3599), Some("x.y.z"))
    );
    assert_eq!(
        (t.refresh_token.as_deref(), t.scope.as_deref()),
        (Some("rt"), Some("read:user"))
    );
    assert!(!format!("{t:?}").contains("\"at\"") && !format!("{t:?}").contains("rt\""));
    let string_expiry = parse_token_response(200, br#"{"access_token":"a","token_type":"Bearer","expires_in":"60"}"#);
    assert_eq!(string_expiry.unwrap().expires_in, Some(60));
    // GitHub answers 200 with an error body.
    let github = br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com"}"#;
    assert_eq!(
        parse_token_response(200, github),
        Err(FederationError::Refused {
            error: "bad_verification_code".into(),
            description: Some("The code passed is incorrect or expired.".into())
        })
    );
    assert_eq!(
        parse_token_response(400, br#"{"error":"invalid_grant"}"#),
        Err(FederationError::Refused {
            error: "invalid_grant".into(),
            description: None
        })
    );
    let bad = [
        (502, &b"<html>Bad gateway</html>"[..], "not a JSON object"),
        (500, br#"{"message":"oops"}"#, "HTTP 500"),
        (200, br#"{"token_type":"Bearer"}"#, "access_token is missing"),
        (200, br#"{"access_token":"a"}"#, "token_type is missing"),
        (200, br#"{"access_token":"a","token_type":"mac"}"#, "not Bearer"),
        (
            200,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":-1}"#,
            "expires_in",
        ),
        (
            200,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#,
            "expires_in",
        ),
    ];
    for (status, body, what) in bad {
        match parse_token_response(status, body) {
            Err(FederationError::BadResponse(why)) => assert!(why.contains(what), "{why}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn apple_client_secrets_have_apples_shape_and_verify() {
    let input = apple_client_secret_input("TEAM123456", "KEY1234567", "com.example.signin", NOW);
    let (header, claims) = input.split_once('.').unwrap();
    let json = |part: &str| serde_json::from_slice::<Value>(&b64url_decode(part).unwrap()).unwrap();
    assert_eq!(json(header), json!({"alg": "ES256", "kid": "KEY1234567"}));
    assert_eq!(
        json(claims),
        json!({"iss": "TEAM123456", "iat": NOW, "exp": NOW + 300, "aud": "https://appleid.apple.com", "sub": "com.example.signin"})
    );
    let der = pem_to_pkcs8_der(EC_PEM).unwrap();
    assert_eq!(
        der,
        base64::engine::general_purpose::STANDARD.decode(EC_DER_B64).unwrap()
    );
    assert_eq!(pem_to_pkcs8_der(&EC_PEM.replace('\n', "\r\n")), Some(der));
    for bad in [
        "",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
    ] {
        assert_eq!(pem_to_pkcs8_der(bad), None, "{bad}");
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn githubs_numeric_id_is_the_subject_and_nulls_are_left_out() {
    let p = stored(&github());
    let user = map(json!({
        "id": 583231, "login": "octocat", "name": null, "email": "Octocat@GitHub.com",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231", "site_admin": false,
    }));
    let id = identity(&p, &p.link_issuer(), &user).unwrap();
    assert_eq!((id.issuer.as_str(), id.subject.as_str()), ("oauth2:github", "583231"));
    assert_eq!(
        Value::Object(id.claims),
        json!({"preferred_username": "octocat", "email": "Octocat@GitHub.com",
               "picture": "https://avatars.githubusercontent.com/u/583231"})
    );
    assert_eq!(id.email.as_deref(), Some("octocat@github.com"));
    assert!(
        !id.email_verified,
        "GitHub's user endpoint does not say the address is verified"
    );
    assert_eq!(id.amr, None);
    for bad in [
        json!({"login": "x"}),
        json!({"id": ""}),
        json!({"id": 1.5}),
        json!({"id": ["1"]}),
    ] {
        assert!(matches!(
            identity(&p, "i", &map(bad)),
            Err(FederationError::BadResponse(_))
        ));
    }
}

#[test]
fn apples_string_booleans_and_the_default_mapping() {
    let p = stored(&apple_body());
    let token_claims = map(json!({
        "iss": "https://appleid.apple.com", "aud": "com.example.signin", "sub": "001234.abcd.1234",
        "nonce": "n", "auth_time": NOW, "at_hash": "h", "amr": ["pwd", "hwk"], "acr": "x",
        "email": "x7@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
        "updated_at": NOW, "locale": 5, "name": "Jane",
    }));
    let id = identity(&p, "https://appleid.apple.com", &token_claims).unwrap();
    assert_eq!(id.subject, "001234.abcd.1234");
    assert_eq!(
        Value::Object(id.claims.clone()),
        json!({"email": "x7@privaterelay.appleid.com", "email_verified": true, "name": "Jane"})
    );
    assert!(id.email_verified);
    assert_eq!(id.amr, Some(vec!["pwd".to_string(), "hwk".to_string()]));
    let unverified = identity(
        &p,
        "i",
        &map(json!({"sub": "s", "email": "a@b.c", "email_verified": "false"})),
    )
    .unwrap();
    assert!(!unverified.email_verified);
    assert_eq!(unverified.claims["email_verified"], false);
    let odd = identity(
        &p,
        "i",
        &map(json!({"sub": "s", "email": "a@b.c", "email_verified": 1, "amr": ["pwd", 1]})),
    );
    let odd = odd.unwrap();
    assert!(!odd.email_verified && odd.amr.is_none() && !odd.claims.contains_key("email_verified"));
}

#[test]
fn a_configured_mapping_copies_exactly_what_it_names() {
    let p = stored(&with(
        google(),
        json!({"claims": {"name": "displayName", "locale": "prefs.locale", "website": "https://example.com/site"}}),
    ));
    let upstream = map(json!({
        "sub": "s", "displayName": "Ada", "prefs": {"locale": "en-GB"}, "email": "ada@example.com",
        "https://example.com/site": "https://ada.example",
    }));
    let id = identity(&p, "i", &upstream).unwrap();
    assert_eq!(
        Value::Object(id.claims),
        json!({"name": "Ada", "locale": "en-GB", "website": "https://ada.example"})
    );
    assert_eq!(id.email, None);
    let too_big = map(json!({"sub": "s", "displayName": "x".repeat(9000)}));
    assert!(matches!(
        identity(&p, "i", &too_big),
        Err(FederationError::BadResponse(_))
    ));
}

#[test]
fn link_keys_are_hashes_that_keep_pairs_apart() {
    let k = link_key("https://accounts.google.com", "1234");
    assert_eq!(k.len(), 43);
    assert!(!k.contains("1234") && !k.contains("google"));
    assert_eq!(k, link_key("https://accounts.google.com", "1234"));
    assert_ne!(link_key("a", "bc"), link_key("ab", "c"));
    assert_ne!(k, link_key("https://accounts.google.com", "12345"));
}

#[test]
fn error_texts_are_short_and_keep_upstream_words_out_of_pages() {
    let long = "x".repeat(500);
    let refused = FederationError::Refused {
        error: "server_error".into(),
        description: Some(format!("stack trace: {long}")),
    };
    assert!(!refused.message().contains("stack trace"));
    assert!(refused.message().contains("server_error"));
    assert!(refused.log_reason().contains("stack trace") && refused.log_reason().len() < 200);
    let denied = FederationError::Refused {
        error: "access_denied".into(),
        description: None,
    };
    assert!(denied.message().contains("cancelled"));
    let bad = FederationError::BadResponse("token response: access_token is missing".into());
    assert!(!bad.message().contains("access_token") && bad.log_reason().contains("access_token"));
    let all = [
        FederationError::Unreachable,
        FederationError::TimedOut,
        bad,
        refused,
        FederationError::InvalidIdToken("nonce".into()),
        FederationError::MixUp,
    ];
    let messages: std::collections::BTreeSet<String> = all.iter().map(FederationError::message).collect();
    assert_eq!(
        messages.len(),
        all.len() - 1,
        "one message for bad answers and bad ID tokens"
    );
    assert_eq!(super::excerpt("a\nb"), "a b");
    assert_eq!(super::excerpt(&long).chars().count(), 81);
}

#[test]
fn user_info_completes_the_id_token_only_for_the_same_subject() {
    let id_token = map(json!({"sub": "s1", "email": "a@b.c", "iss": "i"}));
    let info = parse_userinfo(
        200,
        br#"{"sub":"s1","email":"other@b.c","picture":"https://p.example/a"}"#,
    )
    .unwrap();
    let merged = merge_userinfo(id_token.clone(), info).unwrap();
    assert_eq!(
        Value::Object(merged),
        json!({"sub": "s1", "email": "a@b.c", "iss": "i", "picture": "https://p.example/a"})
    );
    for other in [json!({"sub": "s2"}), json!({"sub": 1}), json!({"name": "no sub"})] {
        assert!(merge_userinfo(id_token.clone(), map(other.clone())).is_err(), "{other}");
    }
    for (status, body) in [(200, &b"[]"[..]), (401, br#"{"sub":"s1"}"#), (200, b"<html>")] {
        assert!(matches!(
            parse_userinfo(status, body),
            Err(FederationError::BadResponse(_))
        ));
    }
}
