//! The authorization code grant (RFC 6749 §4.1, OIDC Core §3.1): issuing a
//! code once the person has logged in and consented, and exchanging it at
//! the token endpoint.

use super::mint::{mint, SignedIn, Subject};
use super::{compose_token, grant_for_tokens, split_token, Site};
use crate::config::RefreshTokenPolicy;
use crate::protocol::acr;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::client::{ClientRecord, GrantType};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::grant::{CodeBinding, CodeRedemption, Grant, GrantOp, Refusal};
use crate::protocol::resource::narrow;
use crate::protocol::sealed_code::{self, CodeKey};
use crate::protocol::session::SessionRecord;
use crate::protocol::token::CodeExchange;
use crate::protocol::user::{UserRecord, UserRevocation};
use crate::random;
use crate::store::{GrantStore, RecordStore, StoreResult, TokenSigner};
use serde_json::Value;

/// The code for an approved authorization request: the grant it would make,
/// sealed (protocol/sealed_code.rs), valid `CODE_TTL` seconds. Nothing is
/// stored: the grant's object is made where the code is first redeemed.
/// The grant keeps how the session signed in, for its ID tokens.
pub fn issue_code(
    grants: &dyn GrantStore,
    key: &CodeKey,
    site: &Site<'_>,
    req: &AuthorizationRequest,
    user: &UserRecord,
    session: &SessionRecord,
) -> StoreResult<String> {
    let grant = Grant {
        client_id: req.client_id.clone(),
        sub: user.sub.clone(),
        scopes: req.scopes.clone(),
        claims: user.claims.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: acr::achieved(&req.acr_values, session.own_amr()).map(str::to_owned),
        idp: session.idp.clone(),
        nonce: req.nonce.clone(),
        sid: Some(session.key.clone()),
        resources: req.resources.clone(),
        created_at: site.now,
        code: Some(CodeBinding {
            // The hash of the sealed code itself, put in when it is opened.
            hash: String::new(),
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            expires_at: site.now + site.config.code_ttl,
            used: false,
        }),
        refresh: None,
        tokens_valid_until: 0,
        revoked: false,
    };
    let id = grants.new_id()?;
    let sealed = sealed_code::seal(key, &id, &grant, random::bytes());
    Ok(compose_token(&id, &sealed))
}

/// RFC 6749 §4.1.3 / §4.1.4: redeems `code` for tokens. The grant's object
/// checks and consumes the code in one step (making the grant from a sealed
/// code at its first redemption); a replay revokes the grant. A code that
/// does not open is refused before any object is reached.
pub async fn exchange(
    grants: &dyn GrantStore,
    key: &CodeKey,
    users: &dyn RecordStore<UserRevocation>,
    signer: &dyn TokenSigner,
    site: &Site<'_>,
    client: &ClientRecord,
    request: CodeExchange,
) -> OAuthResult<Value> {
    let CodeExchange {
        code,
        redirect_uri,
        code_verifier,
        resources,
    } = request;
    let (grant_id, secret) = split_token(&code).ok_or_else(|| Refusal::Mismatch.error())?;
    let pending = match sealed_code::is_sealed(secret) {
        true => Some(Box::new(
            sealed_code::open(key, grant_id, secret).ok_or_else(|| Refusal::Mismatch.error())?,
        )),
        false => None,
    };
    let refresh_token = client.allows_grant(GrantType::RefreshToken).then(random::token);
    let redemption = CodeRedemption {
        code_hash: secret_hash(secret),
        pending,
        client_id: client.client_id.clone(),
        redirect_uri,
        code_verifier,
        resources: resources.clone(),
        refresh_hash: refresh_token.as_deref().map(secret_hash),
        refresh_needs_offline_access: site.config.refresh_token_policy == RefreshTokenPolicy::OfflineAccess,
        refresh_ttl: site.config.refresh_token_absolute_ttl,
        refresh_idle_ttl: site.config.refresh_token_idle_ttl,
        access_token_exp: site.now + site.config.access_token_ttl,
    };
    let issued = grant_for_tokens(grants, users, grant_id, GrantOp::RedeemCode(redemption), site.now).await?;
    let grant = &issued.grant;
    // The grant decides whether the chain started (policy and scopes).
    let refresh_token = refresh_token
        .filter(|_| grant.refresh.is_some())
        .map(|t| compose_token(grant_id, &t));
    let subject = Subject {
        sub: &grant.sub,
        client,
        scopes: &grant.scopes,
        signed_in: Some(SignedIn::of(grant)),
        nonce: grant.nonce.as_deref(),
        sid: grant.sid.as_deref(),
        grant_id: Some(grant_id),
        resources: narrow(&resources, &grant.resources).map_err(|_| Refusal::ResourceExceeded.error())?,
    };
    let minted = mint(signer, site, &subject, refresh_token.as_deref()).await;
    issued.answer(minted).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::grants::testing::{
        claims_of, code_key, confidential_client, deleted_users, session, user, FakeSigner, Unreachable,
    };
    use crate::protocol::authorize::{AuthorizationRequest, Prompt};
    use crate::protocol::error::ErrorCode;
    use crate::protocol::grant::GrantReply;
    use crate::protocol::jose::SigningAlg;
    use crate::store::memory::MemoryGrants;
    use futures::executor::block_on;
    use serde_json::json;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(scopes: &[&str]) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "client-1".into(),
            redirect_uri: "https://rp.example/cb".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            state: Some("st".into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: Some(CHALLENGE.into()),
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            resources: Vec::new(),
            acr_values: Vec::new(),
            idp: None,
        }
    }

    fn site(config: &Config, now: u64) -> Site<'_> {
        Site {
            issuer: "https://op.example",
            config,
            now,
        }
    }

    fn code_for(grants: &MemoryGrants, config: &Config, scopes: &[&str]) -> String {
        issue_code(
            grants,
            &code_key(),
            &site(config, 1000),
            &request(scopes),
            &user(),
            &session(990),
        )
        .unwrap()
    }

    fn redeem(grants: &MemoryGrants, config: &Config, code: &str, now: u64) -> OAuthResult<Value> {
        redeem_for(grants, config, code, now, false, &[])
    }

    fn redeem_for(
        grants: &MemoryGrants,
        config: &Config,
        code: &str,
        now: u64,
        user_deleted: bool,
        resources: &[&str],
    ) -> OAuthResult<Value> {
        let client = confidential_client();
        block_on(exchange(
            grants,
            &code_key(),
            &deleted_users(user_deleted),
            &FakeSigner,
            &site(config, now),
            &client,
            CodeExchange {
                code: code.into(),
                redirect_uri: Some("https://rp.example/cb".into()),
                code_verifier: Some(VERIFIER.into()),
                resources: resources.iter().map(|r| r.to_string()).collect(),
            },
        ))
    }

    fn code_with_resources(grants: &MemoryGrants, config: &Config, scopes: &[&str], resources: &[&str]) -> String {
        let req = AuthorizationRequest {
            resources: resources.iter().map(|r| r.to_string()).collect(),
            ..request(scopes)
        };
        issue_code(grants, &code_key(), &site(config, 1000), &req, &user(), &session(990)).unwrap()
    }

    fn aud_of(body: &Value) -> Value {
        claims_of(body["access_token"].as_str().unwrap()).2["aud"].clone()
    }

    #[test]
    fn the_access_token_is_for_the_authorized_resources_and_userinfo() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let both = ["https://mcp.example/mcp", "urn:b"];
        let code = code_with_resources(&grants, &config, &["openid"], &both);
        let all = redeem(&grants, &config, &code, 1010).unwrap();
        assert_eq!(
            aud_of(&all),
            json!(["https://mcp.example/mcp", "urn:b", "https://op.example/userinfo"])
        );
        let code = code_with_resources(&grants, &config, &["offline_access"], &both);
        let fewer = redeem_for(&grants, &config, &code, 1010, false, &["urn:b"]).unwrap();
        assert_eq!(aud_of(&fewer), json!("urn:b"), "without openid, the resource alone");
        let code = code_with_resources(&grants, &config, &["openid"], &[]);
        assert_eq!(
            aud_of(&redeem(&grants, &config, &code, 1010).unwrap()),
            json!("https://op.example/userinfo")
        );
    }

    #[test]
    fn a_resource_outside_the_grant_is_invalid_target_and_spares_the_code() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_with_resources(&grants, &config, &["openid"], &["urn:a"]);
        let e = redeem_for(&grants, &config, &code, 1010, false, &["urn:a", "urn:other"]).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidTarget, 400));
        assert!(redeem_for(&grants, &config, &code, 1011, false, &["urn:a"]).is_ok());
        let plain = code_for(&grants, &config, &["openid"]);
        let e = redeem_for(&grants, &config, &plain, 1010, false, &["urn:a"]).unwrap_err();
        assert_eq!(
            e.code,
            ErrorCode::InvalidTarget,
            "a grant without resources has none to give"
        );
    }

    #[test]
    fn code_exchange_yields_rfc_9068_access_token_and_id_token() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid", "email", "offline_access"]);
        let body = redeem(&grants, &config, &code, 1010).unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "openid email offline_access");
        assert!(body["refresh_token"].as_str().unwrap().contains('.'));
        let (alg, typ, at) = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!((alg, typ.as_str()), (SigningAlg::ES256, "at+jwt"));
        assert_eq!(at["sub"], "sub-alice");
        assert_eq!(at["client_id"], "client-1");
        assert_eq!(at["exp"], 1010 + 3600);
        let (alg, _, id) = claims_of(body["id_token"].as_str().unwrap());
        assert_eq!(alg, SigningAlg::RS256);
        assert_eq!(id["aud"], "client-1");
        assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(id["auth_time"], 990);
        assert!(id["at_hash"].is_string());
        assert!(id.get("email").is_none(), "scope claims go to userinfo");
        assert_eq!(id["amr"], json!(["pwd"]));
        assert!(id.get("acr").is_none(), "no acr unless asked");
    }

    #[test]
    fn the_id_token_says_how_the_session_signed_in_and_the_acr_achieved() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let id_token_of = |acr_values: &[&str], amr: &[&str]| {
            let req = AuthorizationRequest {
                acr_values: acr_values.iter().map(|a| a.to_string()).collect(),
                ..request(&["openid"])
            };
            let session = SessionRecord {
                amr: amr.iter().map(|m| m.to_string()).collect(),
                ..session(990)
            };
            let code = issue_code(&grants, &code_key(), &site(&config, 1000), &req, &user(), &session).unwrap();
            let body = redeem(&grants, &config, &code, 1010).unwrap();
            claims_of(body["id_token"].as_str().unwrap()).2
        };
        let phr = id_token_of(&["phr"], &["hwk", "user"]);
        assert_eq!((&phr["amr"], &phr["acr"]), (&json!(["hwk", "user"]), &json!("phr")));
        let unasked = id_token_of(&[], &["swk", "user"]);
        assert_eq!(unasked["amr"], json!(["swk", "user"]));
        assert!(unasked.get("acr").is_none(), "no acr unless asked");
        let unmet = id_token_of(&["phr"], &["pwd"]);
        assert!(unmet.get("acr").is_none(), "an acr not achieved is not claimed");
    }

    #[test]
    fn a_deleted_users_code_yields_nothing() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        let refused = redeem_for(&grants, &config, &code, 1010, true, &[]).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
        assert_eq!(refused.description, "the user of this grant has been deleted");
    }

    #[test]
    fn refresh_token_follows_offline_access_policy() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        assert!(redeem(&grants, &config, &code, 1010)
            .unwrap()
            .get("refresh_token")
            .is_none());
        let always = Config {
            refresh_token_policy: RefreshTokenPolicy::Always,
            ..Config::default()
        };
        let code = code_for(&grants, &always, &["openid"]);
        assert!(redeem(&grants, &always, &code, 1010).unwrap()["refresh_token"].is_string());
    }

    #[test]
    fn replay_fails_and_revokes_the_grant() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        redeem(&grants, &config, &code, 1010).unwrap();
        let e = redeem(&grants, &config, &code, 1011).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        let (id, _) = split_token(&code).unwrap();
        let reply = block_on(grants.apply(id, GrantOp::Get, 1012)).unwrap();
        assert_eq!(
            reply,
            GrantReply::Refused {
                refusal: Refusal::Revoked
            }
        );
    }

    #[test]
    fn expired_malformed_and_foreign_codes() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        assert_eq!(
            redeem(&grants, &config, &code, 1060).unwrap_err().description,
            Refusal::Expired.description()
        );
        for bad in ["", "nodot", ".x", "x.", "unknown.secret"] {
            assert_eq!(
                redeem(&grants, &config, bad, 1010).unwrap_err().code,
                ErrorCode::InvalidGrant,
                "{bad}"
            );
        }
        let (id, _) = split_token(&code).unwrap();
        let forged = compose_token(id, "guess");
        assert_eq!(
            redeem(&grants, &config, &forged, 1010).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        assert!(
            redeem(&grants, &config, &code, 1010).is_ok(),
            "a wrong guess does not burn the code"
        );
    }

    #[test]
    fn a_code_stores_nothing_until_its_first_redemption() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        assert_eq!(grants.stored(), 0);
        let (id, sealed) = split_token(&code).unwrap();
        assert!(
            sealed_code::is_sealed(sealed) && !sealed.contains('.'),
            "one dot: not a JWT"
        );
        redeem(&grants, &config, &code, 1010).unwrap();
        assert_eq!(grants.stored(), 1);
        assert!(matches!(
            block_on(grants.apply(id, GrantOp::Get, 1011)).unwrap(),
            GrantReply::Ok { .. }
        ));
    }

    #[test]
    fn a_sealed_code_altered_or_moved_to_another_grant_is_refused_and_stores_nothing() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let code = code_for(&grants, &config, &["openid"]);
        let (id, sealed) = split_token(&code).unwrap();
        let other = code_for(&grants, &config, &["openid"]);
        let (other_id, _) = split_token(&other).unwrap();
        let flipped = format!("{}{}", if sealed.starts_with('A') { 'B' } else { 'A' }, &sealed[1..]);
        for bad in [compose_token(id, &flipped), compose_token(other_id, sealed)] {
            assert_eq!(
                redeem(&grants, &config, &bad, 1010).unwrap_err().description,
                Refusal::Mismatch.description()
            );
        }
        let foreign_key = CodeKey::derive(b"another deployment");
        let client = confidential_client();
        let e = block_on(exchange(
            &grants,
            &foreign_key,
            &deleted_users(false),
            &FakeSigner,
            &site(&config, 1010),
            &client,
            CodeExchange {
                code: code.clone(),
                redirect_uri: Some("https://rp.example/cb".into()),
                code_verifier: Some(VERIFIER.into()),
                resources: Vec::new(),
            },
        ))
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "another key does not open it");
        assert_eq!(grants.stored(), 0);
        assert!(redeem(&grants, &config, &code, 1010).is_ok());
    }

    #[test]
    fn a_code_an_earlier_release_stored_with_its_grant_still_redeems_once() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        // The grant an earlier release stored at /authorize, as a sealed code holds it.
        let sealed = code_for(&grants, &config, &["openid"]);
        let (id, sealed) = split_token(&sealed).unwrap();
        let mut grant = sealed_code::open(&code_key(), id, sealed).unwrap();
        let secret = random::token();
        grant.code.as_mut().unwrap().hash = secret_hash(&secret);
        block_on(grants.apply("g-old", GrantOp::Create { grant: Box::new(grant) }, 1000)).unwrap();
        let code = compose_token("g-old", &secret);
        assert!(redeem(&grants, &config, &code, 1010).is_ok());
        assert_eq!(
            redeem(&grants, &config, &code, 1011).unwrap_err().description,
            Refusal::Replayed.description()
        );
    }

    #[test]
    fn a_code_consumed_by_an_exchange_that_then_failed_redeems_once_more_and_only_once() {
        let (grants, config) = (MemoryGrants::default(), Config::default());
        let exchange_with = |users: &dyn RecordStore<UserRevocation>, signer: &dyn TokenSigner, code: &str| {
            block_on(exchange(
                &grants,
                &code_key(),
                users,
                signer,
                &site(&config, 1010),
                &confidential_client(),
                CodeExchange {
                    code: code.into(),
                    redirect_uri: Some("https://rp.example/cb".into()),
                    code_verifier: Some(VERIFIER.into()),
                    resources: Vec::new(),
                },
            ))
        };
        let users = deleted_users(false);
        // The user's revocations, then the signing keys, out of reach after
        // the grant's object consumed the code.
        for (revocations, signer) in [
            (
                &Unreachable as &dyn RecordStore<UserRevocation>,
                &FakeSigner as &dyn TokenSigner,
            ),
            (&users, &Unreachable),
        ] {
            let code = code_for(&grants, &config, &["openid", "offline_access"]);
            let failed = exchange_with(revocations, signer, &code).unwrap_err();
            assert_eq!((failed.code, failed.status), (ErrorCode::TemporarilyUnavailable, 503));
            let body = exchange_with(&users, &FakeSigner, &code).expect("the retry redeems it");
            assert!(body["refresh_token"].is_string());
            let replay = exchange_with(&users, &FakeSigner, &code).unwrap_err();
            assert_eq!(replay.description, Refusal::Replayed.description());
        }
    }
}
