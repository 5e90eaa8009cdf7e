use super::*;
use crate::protocol::client::parse_client_metadata;
use crate::protocol::params::parse_form_lenient;
use serde_json::{json, Value};

const CB: &str = "https://app.example/cb";
/// RFC 7636 Appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISS: &str = "https://issuer.example";

/// A confidential client allowed code and refresh grants, with `extra`
/// merged over its registration.
fn client(extra: Value) -> ClientRecord {
    let mut body = json!({
        "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    ClientRecord {
        client_id: "c1".into(),
        client_secret_hash: Some("hash".into()),
        registration_access_token_hash: String::new(),
        client_id_issued_at: 0,
        self_registered: None,
        metadata: parse_client_metadata(&body).unwrap(),
    }
}

/// A valid request, less the parameters in `remove`, plus the raw `add`.
fn params(remove: &[&str], add: &str) -> Params {
    let base = [
        ("client_id", "c1"),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid email"),
        ("state", "xyz"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(base.iter().filter(|(k, _)| !remove.contains(k)))
        .finish();
    parse_form_lenient(&format!("{query}&{add}")).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Fine,
    Page,
    Redirect(ErrorCode),
}
use Want::*;

fn outcome(result: &Result<AuthorizationRequest, AuthorizeError>) -> Want {
    match result {
        Ok(_) => Fine,
        Err(AuthorizeError::Page(e)) => {
            assert_eq!((e.code, e.status), (ErrorCode::InvalidRequest, 400));
            Page
        }
        Err(AuthorizeError::Redirect {
            redirect_uri, error, ..
        }) => {
            assert_eq!(redirect_uri, CB);
            Redirect(error.code)
        }
    }
}

const BAD: Want = Redirect(ErrorCode::InvalidRequest);
const SCOPE: Want = Redirect(ErrorCode::InvalidScope);

/// (what, client registration extras, removed parameters, added query, outcome)
type Case = (&'static str, Value, &'static [&'static str], String, Want);

fn run(cases: Vec<Case>) {
    for (what, extra, remove, add, want) in cases {
        let result = validate(&params(remove, &add), Some(&client(extra)), &[]);
        assert_eq!(outcome(&result), want, "{what}: {result:?}");
    }
}

fn case(what: &'static str, remove: &'static [&'static str], add: &str, want: Want) -> Case {
    (what, json!({}), remove, add.to_owned(), want)
}

const UNSUPPORTED: Want = Redirect(ErrorCode::UnsupportedResponseType);
const UNAUTHORIZED: Want = Redirect(ErrorCode::UnauthorizedClient);

#[rustfmt::skip]
#[test]
fn client_and_redirect_uri_errors_are_never_redirected() {
    let two = json!({ "redirect_uris": [CB, "https://app.example/other"] });
    run(vec![
        case("valid", &[], "", Fine),
        case("missing client_id", &["client_id"], "", Page),
        case("repeated client_id", &[], "client_id=c2", Page),
        case("other client_id", &["client_id"], "client_id=c2", Page),
        case("repeated redirect_uri", &[], "redirect_uri=https://app.example/cb", Page),
        case("unregistered", &["redirect_uri"], "redirect_uri=https://evil.example/cb", Page),
        case("not exact", &["redirect_uri"], "redirect_uri=https://app.example/cb/", Page),
        case("openid, no redirect_uri", &["redirect_uri"], "", Page),
        case("oauth, no redirect_uri", &["redirect_uri", "scope"], "scope=email", Fine),
        ("two registered", two, &["redirect_uri", "scope"], "scope=email".into(), Page),
        case("redirect_uri error first", &[], "redirect_uri=x&response_type=token", Page),
    ]);
    let unknown = validate(&params(&[], ""), None, &[]).unwrap_err();
    assert_eq!(unknown, AuthorizeError::Page(invalid_request("unknown client_id")));
}

#[rustfmt::skip]
#[test]
fn parameter_rules_are_redirected() {
    let no_refresh = json!({ "grant_types": ["authorization_code"] });
    let m2m = json!({ "grant_types": ["client_credentials"], "response_types": [] });
    let registered = json!({ "scope": "openid email" });
    run(vec![
        case("repeated scope", &[], "scope=profile", BAD),
        case("repeated response_type", &[], "response_type=code", BAD),
        case("repeated unknown", &[], "foo=1&foo=2", Fine),
        case("request object", &[], "request=eyJ", Redirect(ErrorCode::RequestNotSupported)),
        case("request_uri", &[], "request_uri=https://a/r", Redirect(ErrorCode::RequestUriNotSupported)),
        case("registration", &[], "registration=%7B%7D", Redirect(ErrorCode::RegistrationNotSupported)),
        case("no response_type", &["response_type"], "", BAD),
        case("token", &["response_type"], "response_type=token", UNSUPPORTED),
        case("hybrid", &["response_type"], "response_type=code+id_token", UNSUPPORTED),
        ("no code grant", m2m, &[], String::new(), UNAUTHORIZED),
        case("response_mode query", &[], "response_mode=query", Fine),
        case("response_mode fragment", &[], "response_mode=fragment", BAD),
        case("first error wins", &["response_type", "scope"], "response_type=token&scope=x", UNSUPPORTED),
        case("bad scope character", &["scope"], "scope=open%22id", SCOPE),
        case("unsupported scope", &["scope"], "scope=openid+admin", SCOPE),
        case("no scope, no default", &["scope"], "", SCOPE),
        ("offline_access only, no refresh", no_refresh, &["scope"], "scope=offline_access".into(), SCOPE),
        ("scope outside registration", registered, &["scope"], "scope=openid+profile".into(), SCOPE),
    ]);
}

#[rustfmt::skip]
#[test]
fn pkce_rules() {
    let public = json!({ "token_endpoint_auth_method": "none" });
    let bad_char = format!("code_challenge={}", CHALLENGE.replace('-', "%2B"));
    let long = format!("code_challenge={CHALLENGE}A");
    let no_pkce: &'static [&'static str] = &["code_challenge", "code_challenge_method"];
    run(vec![
        case("plain", &["code_challenge_method"], "code_challenge_method=plain", BAD),
        case("no method", &["code_challenge_method"], "", BAD),
        case("method only", &["code_challenge"], "", BAD),
        case("short", &["code_challenge"], "code_challenge=abc", BAD),
        case("long", &["code_challenge"], &long, BAD),
        case("not base64url", &["code_challenge"], &bad_char, BAD),
        case("confidential without PKCE", no_pkce, "", Fine),
        ("public with PKCE", public.clone(), &[], String::new(), Fine),
        ("public without PKCE", public, no_pkce, String::new(), BAD),
    ]);
}

#[rustfmt::skip]
#[test]
fn prompt_max_age_and_sizes() {
    let long = |name: &str, n: usize| format!("{name}={}", "a".repeat(n));
    run(vec![
        case("prompt none", &[], "prompt=none", Fine),
        case("prompt login consent", &[], "prompt=login+consent", Fine),
        case("prompt none login", &[], "prompt=none+login", BAD),
        case("prompt select_account", &[], "prompt=select_account", BAD),
        case("max_age 0", &[], "max_age=0", Fine),
        case("max_age 3600", &[], "max_age=3600", Fine),
        case("max_age -1", &[], "max_age=-1", BAD),
        case("max_age abc", &[], "max_age=abc", BAD),
        case("max_age +5", &[], "max_age=%2B5", BAD),
        case("max_age overflow", &[], "max_age=99999999999999999999999", BAD),
        case("nonce 512", &["nonce"], &long("nonce", 512), Fine),
        case("nonce 513", &["nonce"], &long("nonce", 513), BAD),
        case("state 2048", &["state"], &long("state", 2048), Fine),
        case("state 2049", &["state"], &long("state", 2049), BAD),
        case("login_hint 256", &[], &long("login_hint", 256), Fine),
        case("login_hint 257", &[], &long("login_hint", 257), BAD),
    ]);
}

#[test]
fn a_valid_request_is_captured_whole() {
    let p = params(&[], "prompt=login&max_age=60&login_hint=ann");
    let req = validate(&p, Some(&client(json!({}))), &[]).unwrap();
    let want = AuthorizationRequest {
        client_id: "c1".into(),
        redirect_uri: CB.into(),
        scopes: vec!["openid".into(), "email".into()],
        state: Some("xyz".into()),
        nonce: Some("n-1".into()),
        code_challenge: Some(CHALLENGE.into()),
        prompt: Prompt {
            none: false,
            login: true,
            consent: false,
        },
        max_age: Some(60),
        login_hint: Some("ann".into()),
        resources: Vec::new(),
        acr_values: Vec::new(),
        idp: None,
    };
    assert_eq!(req, want);
    let json = serde_json::to_string(&req).unwrap();
    assert_eq!(serde_json::from_str::<AuthorizationRequest>(&json).unwrap(), req);
}

#[test]
fn scope_defaults_and_offline_access() {
    let scopes = |extra: Value, remove: &'static [&'static str], add: &str| {
        validate(&params(remove, add), Some(&client(extra)), &[])
            .unwrap()
            .scopes
    };
    let registered = json!({ "scope": "openid profile" });
    assert_eq!(scopes(registered, &["scope"], ""), ["openid", "profile"]);
    let offline = "scope=openid+offline_access";
    assert_eq!(scopes(json!({}), &["scope"], offline), ["openid", "offline_access"]);
    let no_refresh = json!({ "grant_types": ["authorization_code"] });
    assert_eq!(scopes(no_refresh, &["scope"], offline), ["openid"]);
}

#[test]
fn redirected_errors_echo_state_unless_repeated() {
    let c = client(json!({}));
    let err = validate(&params(&[], "response_mode=form_post"), Some(&c), &[]).unwrap_err();
    let AuthorizeError::Redirect { state, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(state.as_deref(), Some("xyz"));
    let err = validate(&params(&[], "state=other"), Some(&c), &[]).unwrap_err();
    let AuthorizeError::Redirect { state, error, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((state, error.code), (&None, ErrorCode::InvalidRequest));
    assert!(error.description.contains("`state`"));
}

#[test]
fn redirect_uri_query_is_kept() {
    let with_query = "https://app.example/cb?tenant=a";
    let c = client(json!({ "redirect_uris": [with_query] }));
    let p = params(
        &["redirect_uri"],
        "redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftenant%3Da",
    );
    let req = validate(&p, Some(&c), &[]).unwrap();
    assert_eq!(req.redirect_uri, with_query);
    assert_eq!(
        success_redirect(&req.redirect_uri, "c0de", Some("x y&z"), ISS),
        "https://app.example/cb?tenant=a&code=c0de&state=x+y%26z&iss=https%3A%2F%2Fissuer.example"
    );
    assert_eq!(
        success_redirect(CB, "c0de", None, ISS),
        "https://app.example/cb?code=c0de&iss=https%3A%2F%2Fissuer.example"
    );
}

#[test]
fn error_redirects_carry_error_state_and_iss() {
    let e = OAuthError::new(ErrorCode::InvalidScope, "the scope \"a\\b\" é");
    let url = error_redirect("https://app.example/cb?x=1", &e, Some("s"), ISS);
    let parsed = Url::parse(&url).unwrap();
    let got: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let want = [
        ("x", "1"),
        ("error", "invalid_scope"),
        ("error_description", "the scope 'a?b' ?"),
        ("state", "s"),
        ("iss", ISS),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(got, want);
    assert!(!error_redirect(CB, &e, None, ISS).contains("state="));
}

fn request(prompt: Prompt, max_age: Option<u64>) -> AuthorizationRequest {
    let mut req = validate(&params(&[], ""), Some(&client(json!({}))), &[]).unwrap();
    req.prompt = prompt;
    req.max_age = max_age;
    req
}

const NO_PROMPT: Prompt = Prompt {
    none: false,
    login: false,
    consent: false,
};
const LOGIN: Prompt = Prompt {
    none: false,
    login: true,
    consent: false,
};
const CONSENT: Prompt = Prompt {
    none: false,
    login: false,
    consent: true,
};
const NONE: Prompt = Prompt {
    none: true,
    login: false,
    consent: false,
};

/// A session signed in at `auth_time` by the methods `amr`.
fn session(auth_time: u64, amr: &[&str]) -> SessionRecord {
    SessionRecord {
        key: "k".into(),
        username: "ann".into(),
        sub: "s".into(),
        auth_time,
        expires_at: auth_time + 3600,
        epoch: 0,
        amr: amr.iter().map(|m| m.to_string()).collect(),
        idp: None,
    }
}

#[test]
fn login_rules() {
    let now = 1_000;
    let again = Some(SignIn::Again);
    // (prompt, max_age, auth_time, logged in this request, needs login)
    let cases = [
        (NO_PROMPT, None, None, false, Some(SignIn::Required)),
        (NO_PROMPT, None, Some(1), false, None),
        (LOGIN, None, Some(990), false, again),
        (LOGIN, None, Some(now), true, None), // prompt=login loop guard
        (NO_PROMPT, Some(60), Some(now - 61), false, again),
        (NO_PROMPT, Some(60), Some(now - 60), false, None),
        (NO_PROMPT, Some(60), Some(now - 30), false, None),
        (NO_PROMPT, Some(0), Some(now - 1), false, again),
        (NO_PROMPT, Some(0), Some(now), false, again), // max_age=0 is prompt=login
        (NO_PROMPT, Some(0), Some(now), true, None),
        (NO_PROMPT, Some(60), Some(now + 5), false, None), // clock skew
    ];
    for (i, (prompt, max_age, auth_time, fresh, want)) in cases.into_iter().enumerate() {
        let req = request(prompt, max_age);
        let session = auth_time.map(|t| session(t, &["pwd"]));
        assert_eq!(needs_login(&req, session.as_ref(), now, fresh), want, "case {i}");
    }
}

#[test]
fn phr_asks_a_password_session_for_a_passkey_sign_in() {
    let now = 1_000;
    let phr = AuthorizationRequest {
        acr_values: vec!["phr".into()],
        ..request(NO_PROMPT, None)
    };
    let password = session(990, &["pwd"]);
    let passkey = session(990, &["hwk", "user"]);
    let synced = session(990, &["swk", "user"]);
    let passkey_again = Some(SignIn::WithPasskey);
    assert_eq!(needs_login(&phr, Some(&password), now, false), passkey_again);
    assert_eq!(
        needs_login(&phr, Some(&password), now, true),
        passkey_again,
        "not even a sign-in made during this request"
    );
    assert_eq!(needs_login(&phr, None, now, false), Some(SignIn::Required));
    assert_eq!(needs_login(&phr, Some(&passkey), now, false), None);
    assert_eq!(needs_login(&phr, Some(&synced), now, false), None);
    let stale = AuthorizationRequest {
        max_age: Some(0),
        ..phr.clone()
    };
    assert_eq!(needs_login(&stale, Some(&passkey), now, false), Some(SignIn::Again));
    assert_eq!(
        needs_login(&request(NO_PROMPT, None), Some(&password), now, false),
        None
    );
    assert!(phr.requires_passkey() && !request(NO_PROMPT, None).requires_passkey());
}

#[test]
fn acr_values_come_from_the_request_or_the_clients_defaults() {
    let acr = |extra: Value, add: &str| {
        validate(&params(&[], add), Some(&client(extra)), &[])
            .unwrap()
            .acr_values
    };
    let strict = json!({ "default_acr_values": ["phr"] });
    assert!(acr(json!({}), "").is_empty());
    assert_eq!(acr(json!({}), "acr_values=urn%3Ax+phr"), ["phr"]);
    assert!(acr(json!({}), "acr_values=urn%3Ax").is_empty());
    assert_eq!(acr(strict.clone(), ""), ["phr"]);
    let own = acr(strict, "acr_values=urn%3Ax");
    assert!(own.is_empty(), "the request's values override the defaults");
    let repeated = validate(
        &params(&[], "acr_values=phr&acr_values=phr"),
        Some(&client(json!({}))),
        &[],
    );
    assert_eq!(outcome(&repeated), Redirect(ErrorCode::InvalidRequest));
}

#[test]
fn consent_rules() {
    let s = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = s(&["openid", "email", "profile"]);
    let some = s(&["openid"]);
    // (prompt, remembered, consented this request, needs consent)
    let cases: [(Prompt, Option<&[String]>, bool, bool); 6] = [
        (NO_PROMPT, None, false, true),
        (NO_PROMPT, Some(&all), false, false),
        (NO_PROMPT, Some(&some), false, true),
        (CONSENT, Some(&all), false, true),
        (CONSENT, Some(&all), true, false),
        (NO_PROMPT, None, true, false),
    ];
    for (i, (prompt, remembered, fresh, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            needs_consent(&request(prompt, None), remembered, fresh),
            want,
            "case {i}"
        );
    }
}

#[test]
fn prompt_none_turns_interaction_into_errors() {
    let code = |prompt, login, consent| interaction_error(&request(prompt, None), login, consent).map(|e| e.code);
    for reason in [SignIn::Required, SignIn::Again, SignIn::WithPasskey] {
        assert_eq!(
            code(NONE, Some(reason), true),
            Some(ErrorCode::LoginRequired),
            "{reason:?}"
        );
        assert_eq!(code(NO_PROMPT, Some(reason), true), None, "{reason:?}");
    }
    assert_eq!(code(NONE, None, true), Some(ErrorCode::ConsentRequired));
    assert_eq!(code(NONE, None, false), None);
    assert_eq!(code(LOGIN, Some(SignIn::Again), false), None);
    let passkey = interaction_error(&request(NONE, None), Some(SignIn::WithPasskey), false).unwrap();
    assert!(passkey.description.contains("passkey"), "{}", passkey.description);
}

#[test]
fn scopes_are_described_in_plain_words() {
    let scopes: Vec<String> = ["openid", "email", "offline_access", "api:read"]
        .map(String::from)
        .into();
    let got = scope_descriptions(&scopes);
    assert_eq!(got[0], ("openid".into(), "Sign you in with your account".into()));
    assert_eq!(got[1].1, "Your email address");
    assert!(got[2].1.contains("refresh tokens"));
    assert_eq!(got[3], ("api:read".into(), "api:read".into()));
}

#[test]
fn a_waiting_request_is_checked_against_the_client_as_it_is_now() {
    let p = params(&["code_challenge", "code_challenge_method"], "");
    let req = validate(&p, Some(&client(json!({}))), &[]).unwrap();
    let now = |extra: Value| outcome(&recheck(&req, &client(extra), &[]).map(|_| req.clone()));
    assert_eq!(now(json!({})), Fine);
    assert_eq!(now(json!({"redirect_uris": ["https://app.example/other"]})), Page);
    assert_eq!(
        now(json!({"grant_types": ["client_credentials"], "response_types": []})),
        Redirect(ErrorCode::UnauthorizedClient)
    );
    assert_eq!(now(json!({"scope": "openid"})), Redirect(ErrorCode::InvalidScope));
    assert_eq!(
        outcome(
            &recheck(
                &req,
                &{
                    let mut public = client(json!({"token_endpoint_auth_method": "none"}));
                    public.client_secret_hash = None;
                    public
                },
                &[]
            )
            .map(|_| req.clone())
        ),
        Redirect(ErrorCode::InvalidRequest)
    );
}

#[test]
fn resources_are_validated_allowed_and_kept() {
    let (a, b) = ("https%3A%2F%2Fmcp.example%2Fmcp", "urn%3Aapi");
    let c = client(json!({}));
    let req = validate(&params(&[], &format!("resource={a}&resource={b}")), Some(&c), &[]).unwrap();
    assert_eq!(req.resources, ["https://mcp.example/mcp", "urn:api"]);
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(json["resources"], json!(["https://mcp.example/mcp", "urn:api"]));
    let none = validate(&params(&[], ""), Some(&c), &[]).unwrap();
    assert!(none.resources.is_empty());
    assert!(serde_json::to_value(&none).unwrap().get("resources").is_none());
    const TARGET: Want = Redirect(ErrorCode::InvalidTarget);
    let only_mcp = json!({"allowed_resources": ["https://mcp.example/mcp"]});
    let deployment = ["https://mcp.example/".to_string()];
    let cases: [(&str, Value, &[String], Want); 7] = [
        ("resource=%2Fmcp", json!({}), &[], TARGET),
        ("resource=https%3A%2F%2Fmcp.example%2Fmcp%23top", json!({}), &[], TARGET),
        (&format!("resource={a}"), only_mcp.clone(), &[], Fine),
        (&format!("resource={a}&resource={b}"), only_mcp, &[], TARGET),
        (&format!("resource={b}"), json!({"allowed_resources": []}), &[], TARGET),
        (&format!("resource={a}"), json!({}), &deployment, Fine),
        (&format!("resource={b}"), json!({}), &deployment, TARGET),
    ];
    for (add, extra, allowed, want) in cases {
        let got = outcome(&validate(&params(&[], add), Some(&client(extra.clone())), allowed));
        assert_eq!(got, want, "{add} {extra}");
    }
    // An allow-list tightened while the person was signing in.
    let later = client(json!({"allowed_resources": ["urn:other"]}));
    let recheck_now = outcome(&recheck(&req, &later, &[]).map(|_| req.clone()));
    assert_eq!(recheck_now, TARGET);
    assert_eq!(outcome(&recheck(&req, &c, &deployment).map(|_| req.clone())), TARGET);
    assert_eq!(outcome(&recheck(&req, &c, &[]).map(|_| req.clone())), Fine);
}
