//! Every rule on recorded ceremonies: Chromium's virtual authenticator
//! registering and signing in twice per algorithm
//! (tests/fixtures/webauthn/record.mjs), checked as recorded and altered the
//! ways an attacker or a broken authenticator would alter them.

use super::cbor::parse_attestation_object;
use super::*;
use crate::protocol::encoding::b64url;
use crate::protocol::error::ErrorCode;
use crate::protocol::jose::SigningAlg;
use crate::store::host_crypto::HostVerifier;
use crate::store::SignatureVerifier;
use futures::executor::block_on;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Fixture {
    rp_id: String,
    origin: String,
    user_handle: String,
    cose_alg: i64,
    registration: Ceremony,
    assertions: Vec<Ceremony>,
}

#[derive(Deserialize)]
struct Ceremony {
    challenge: String,
    response: Value,
}

const ES256: &str = include_str!("../../../tests/fixtures/webauthn/es256.json");
const EDDSA: &str = include_str!("../../../tests/fixtures/webauthn/eddsa.json");
const RS256: &str = include_str!("../../../tests/fixtures/webauthn/rs256.json");
/// Backup eligible and backed up, with extension outputs (flag ED) in every
/// authenticator data.
const SYNCED: &str = include_str!("../../../tests/fixtures/webauthn/es256_synced_ext.json");

fn fixture(json: &str) -> Fixture {
    serde_json::from_str(json).expect("a fixture")
}

fn all() -> Vec<Fixture> {
    [ES256, EDDSA, RS256, SYNCED].map(fixture).into()
}

impl Fixture {
    fn expected(&self, ceremony: &Ceremony) -> Expected {
        Expected {
            rp_id: self.rp_id.clone(),
            origin: self.origin.clone(),
            challenge: b64url_decode(&ceremony.challenge).unwrap().try_into().unwrap(),
        }
    }

    fn register(&self) -> Result<NewCredential, WebAuthnError> {
        let r = &self.registration;
        verify_registration(&self.expected(r), &r.response.to_string())
    }

    fn check(&self, i: usize, response: &Value) -> Result<Assertion, WebAuthnError> {
        check_assertion(&self.expected(&self.assertions[i]), &response.to_string())
    }
}

/// The whole sign-in as the caller runs it: checks, signature, record.
fn sign_in(f: &Fixture, i: usize, response: &Value, stored: &NewCredential) -> Result<Assertion, WebAuthnError> {
    let a = f.check(i, response)?;
    assert_eq!(a.credential_id, stored.id);
    if !verifies(&stored.public_key, &a) {
        return Err(WebAuthnError::Signature);
    }
    a.check_record(stored.sign_count, stored.backup_eligible)?;
    Ok(a)
}

fn verifies(key: &PublicKey, a: &Assertion) -> bool {
    let Ok(signature) = signature_for_webcrypto(key.alg, &a.signature) else {
        return false;
    };
    block_on(HostVerifier.verify(key, &a.signed_data, &signature)).unwrap()
}

fn decoded(v: &Value, field: &str) -> Vec<u8> {
    b64url_decode(v["response"][field].as_str().unwrap()).unwrap()
}

/// `response` with one binary member replaced.
fn with_bytes(response: &Value, field: &str, bytes: &[u8]) -> Value {
    let mut r = response.clone();
    r["response"][field] = json!(b64url(bytes));
    r
}

/// An assertion response with its authenticator data edited.
fn edit_auth_data(response: &Value, edit: impl Fn(&mut Vec<u8>)) -> Value {
    let mut data = decoded(response, "authenticatorData");
    edit(&mut data);
    with_bytes(response, "authenticatorData", &data)
}

/// `{"fmt": fmt, "attStmt": att_stmt, "authData": auth_data}` in CBOR.
fn attestation_object(fmt: &str, att_stmt: &[u8], auth_data: &[u8]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(3)
        .unwrap()
        .str("fmt")
        .unwrap()
        .str(fmt)
        .unwrap()
        .str("attStmt")
        .unwrap();
    let mut out = e.into_writer();
    out.extend(att_stmt);
    let mut e = minicbor::Encoder::new(out);
    e.str("authData").unwrap().bytes(auth_data).unwrap();
    e.into_writer()
}

/// A registration response with its attestation object rebuilt by `edit`
/// from (fmt, attStmt, authData).
fn edit_attestation(response: &Value, edit: impl Fn(&mut String, &mut Vec<u8>, &mut Vec<u8>)) -> Value {
    let bytes = decoded(response, "attestationObject");
    let object = parse_attestation_object(&bytes).unwrap();
    let (mut fmt, mut att_stmt, mut auth_data) = (
        object.fmt.to_string(),
        object.att_stmt.to_vec(),
        object.auth_data.to_vec(),
    );
    edit(&mut fmt, &mut att_stmt, &mut auth_data);
    with_bytes(
        response,
        "attestationObject",
        &attestation_object(&fmt, &att_stmt, &auth_data),
    )
}

const FLAGS: usize = 32;
const UP: u8 = 1;
const UV: u8 = 4;
const BE: u8 = 8;

#[test]
fn recorded_ceremonies_verify_for_each_algorithm() {
    for (json, alg, kty, synced) in [
        (ES256, SigningAlg::ES256, "EC", false),
        (EDDSA, SigningAlg::EdDSA, "OKP", false),
        (RS256, SigningAlg::RS256, "RSA", false),
        (SYNCED, SigningAlg::ES256, "EC", true),
    ] {
        let f = &fixture(json);
        let mut stored = f.register().unwrap();
        assert_eq!(stored.id, f.registration.response["id"]);
        assert_eq!(
            (stored.public_key.alg, stored.public_key.jwk["kty"].as_str()),
            (alg, Some(kty))
        );
        assert!(COSE_ALGORITHMS.contains(&f.cose_alg));
        assert_eq!(stored.transports, ["internal"]);
        // Chromium's virtual authenticators' AAGUID.
        assert_eq!(
            stored.aaguid,
            *b"\x01\x02\x03\x04\x05\x06\x07\x08\x01\x02\x03\x04\x05\x06\x07\x08"
        );
        assert_eq!((stored.backup_eligible, stored.backed_up), (synced, synced));
        assert_eq!(stored.sign_count, 1);
        for (i, ceremony) in f.assertions.iter().enumerate() {
            let a = sign_in(f, i, &ceremony.response, &stored).unwrap();
            assert_eq!(a.user_handle, b64url_decode(&f.user_handle));
            assert_eq!((a.backup_eligible, a.backed_up), (synced, synced));
            assert_eq!(a.sign_count, stored.sign_count + 1);
            stored.sign_count = a.sign_count;
        }
    }
}

#[test]
fn a_stored_key_survives_serialisation() {
    let f = fixture(EDDSA);
    let key = f.register().unwrap().public_key;
    let stored: PublicKey = serde_json::from_str(&serde_json::to_string(&key).unwrap()).unwrap();
    let a = f.check(0, &f.assertions[0].response).unwrap();
    assert!(verifies(&stored, &a));
}

#[test]
fn another_origin_is_refused() {
    for f in all() {
        for origin in [
            f.origin.replace("http:", "https:"),
            "http://localhost".into(),
            "http://evil.example".into(),
        ] {
            let wrong = |ceremony: &Ceremony| Expected {
                origin: origin.clone(),
                ..f.expected(ceremony)
            };
            let r = &f.registration;
            assert_eq!(
                verify_registration(&wrong(r), &r.response.to_string()),
                Err(WebAuthnError::Origin)
            );
            let a = &f.assertions[0];
            assert_eq!(
                check_assertion(&wrong(a), &a.response.to_string()),
                Err(WebAuthnError::Origin)
            );
        }
    }
}

#[test]
fn another_rp_id_is_refused() {
    for f in all() {
        // The origin is right (a page of ours), the authenticator signed for another RP.
        let wrong = |ceremony: &Ceremony| Expected {
            rp_id: "id.localhost".into(),
            ..f.expected(ceremony)
        };
        let r = &f.registration;
        assert_eq!(
            verify_registration(&wrong(r), &r.response.to_string()),
            Err(WebAuthnError::RpId)
        );
        let a = &f.assertions[0];
        assert_eq!(
            check_assertion(&wrong(a), &a.response.to_string()),
            Err(WebAuthnError::RpId)
        );
    }
}

#[test]
fn a_replayed_ceremony_presents_an_old_challenge() {
    for f in all() {
        // The first sign-in's response, replayed on the page of the second.
        let replay = f.assertions[0].response.to_string();
        assert_eq!(
            check_assertion(&f.expected(&f.assertions[1]), &replay),
            Err(WebAuthnError::Challenge)
        );
        // A registration answered on another form.
        let other = Expected {
            challenge: challenge_for("another form"),
            ..f.expected(&f.registration)
        };
        let registration = f.registration.response.to_string();
        assert_eq!(
            verify_registration(&other, &registration),
            Err(WebAuthnError::Challenge)
        );
    }
}

#[test]
fn client_data_of_the_other_ceremony_is_refused() {
    for f in all() {
        let create = decoded(&f.registration.response, "clientDataJSON");
        let get = decoded(&f.assertions[0].response, "clientDataJSON");
        let assertion = with_bytes(&f.assertions[0].response, "clientDataJSON", &create);
        let expected = Expected {
            challenge: f.expected(&f.registration).challenge,
            ..f.expected(&f.assertions[0])
        };
        assert_eq!(
            check_assertion(&expected, &assertion.to_string()),
            Err(WebAuthnError::CeremonyType)
        );
        let registration = with_bytes(&f.registration.response, "clientDataJSON", &get);
        let expected = f.expected(&f.assertions[0]);
        assert_eq!(
            verify_registration(&expected, &registration.to_string()),
            Err(WebAuthnError::CeremonyType)
        );
    }
}

#[test]
fn an_altered_signature_or_signed_data_does_not_verify() {
    for f in all() {
        let stored = f.register().unwrap();
        let response = &f.assertions[0].response;
        let mut signature = decoded(response, "signature");
        *signature.last_mut().unwrap() ^= 1;
        let flipped = with_bytes(response, "signature", &signature);
        assert_eq!(sign_in(&f, 0, &flipped, &stored), Err(WebAuthnError::Signature));
        // The counter raised after signing.
        let raised = edit_auth_data(response, |d| d[36] = d[36].wrapping_add(100));
        assert_eq!(sign_in(&f, 0, &raised, &stored), Err(WebAuthnError::Signature));
        // Another credential's key.
        let other = fixture(if f.cose_alg == -8 { ES256 } else { EDDSA })
            .register()
            .unwrap();
        assert!(!verifies(&other.public_key, &f.check(0, response).unwrap()));
    }
}

#[test]
fn a_key_that_does_not_import_verifies_nothing() {
    let f = fixture(ES256);
    let mut key = f.register().unwrap().public_key;
    let a = f.check(0, &f.assertions[0].response).unwrap();
    assert!(verifies(&key, &a));
    // A point off the curve: WebCrypto's importKey throws a DataError.
    key.jwk["y"] = json!(b64url(&[0x11; 32]));
    assert!(!verifies(&key, &a));
}

#[test]
fn a_counter_that_goes_back_is_refused() {
    for f in [fixture(ES256), fixture(RS256)] {
        let mut stored = f.register().unwrap();
        stored.sign_count = f.check(1, &f.assertions[1].response).unwrap().sign_count;
        // Both sign-ins verify; the older one, coming after the newer, is a clone's.
        let older = &f.assertions[0].response;
        assert_eq!(sign_in(&f, 0, older, &stored), Err(WebAuthnError::Counter));
        assert_eq!(
            sign_in(&f, 1, &f.assertions[1].response, &stored),
            Err(WebAuthnError::Counter)
        );
    }
}

#[test]
fn backup_eligibility_must_not_change() {
    let f = fixture(SYNCED);
    let mut stored = f.register().unwrap();
    stored.backup_eligible = false;
    assert_eq!(
        sign_in(&f, 0, &f.assertions[0].response, &stored),
        Err(WebAuthnError::BackupEligibility)
    );
    // BS without BE is inconsistent, whatever was registered.
    let no_be = edit_auth_data(&f.assertions[0].response, |d| d[FLAGS] &= !BE);
    assert_eq!(f.check(0, &no_be), Err(WebAuthnError::BackupState));
}

#[test]
fn missing_user_verification_or_presence_is_refused_before_the_signature() {
    for f in all() {
        for (flag, error) in [(UV, WebAuthnError::UserVerification), (UP, WebAuthnError::UserPresence)] {
            let response = edit_auth_data(&f.assertions[0].response, |d| d[FLAGS] &= !flag);
            assert_eq!(f.check(0, &response), Err(error));
            let response = edit_attestation(&f.registration.response, |_, _, d| d[FLAGS] &= !flag);
            let r = &f.registration;
            assert_eq!(verify_registration(&f.expected(r), &response.to_string()), Err(error));
        }
    }
}

#[test]
fn only_attestation_none_is_accepted() {
    let f = fixture(ES256);
    let r = &f.registration;
    let register = |response: Value| verify_registration(&f.expected(r), &response.to_string());
    // The rebuilt object is accepted as it was.
    assert!(register(edit_attestation(&r.response, |_, _, _| ())).is_ok());
    for fmt in ["packed", "fido-u2f", "apple", "None", "none "] {
        let response = edit_attestation(&r.response, |f, _, _| *f = fmt.into());
        assert_eq!(register(response), Err(WebAuthnError::AttestationFormat), "{fmt}");
    }
    // `none` with a statement: {"alg": -7}.
    let response = edit_attestation(&r.response, |_, s, _| *s = vec![0xa1, 0x63, b'a', b'l', b'g', 0x26]);
    assert_eq!(
        register(response),
        Err(WebAuthnError::Malformed("attestation statement"))
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let trailing = Err(WebAuthnError::Malformed("authenticator data: trailing bytes"));
    let trailing_in = |result: Result<Assertion, WebAuthnError>| result.map(drop) == trailing;
    for f in all() {
        let r = &f.registration;
        let response = edit_attestation(&r.response, |_, _, d| d.push(0));
        assert_eq!(
            verify_registration(&f.expected(r), &response.to_string()).map(drop),
            trailing
        );
        let mut object = decoded(&r.response, "attestationObject");
        object.push(0);
        let response = with_bytes(&r.response, "attestationObject", &object);
        assert_eq!(
            verify_registration(&f.expected(r), &response.to_string()),
            Err(WebAuthnError::Malformed("attestation object: trailing bytes"))
        );
        let response = edit_auth_data(&f.assertions[0].response, |d| d.extend([0xa0]));
        assert!(trailing_in(f.check(0, &response)));
    }
    // Extension outputs the flags do not announce are trailing bytes too.
    let f = fixture(SYNCED);
    let response = edit_auth_data(&f.assertions[0].response, |d| d[FLAGS] &= !0x80);
    assert!(trailing_in(f.check(0, &response)));
}

#[test]
fn credential_ids_must_agree() {
    for f in all() {
        let r = &f.registration;
        let register = |response: &Value| verify_registration(&f.expected(r), &response.to_string());
        let mut response = r.response.clone();
        response["id"] = json!(b64url(b"another"));
        assert_eq!(register(&response), Err(WebAuthnError::CredentialId));
        // `id` and `rawId` agree, but not with the authenticator data.
        response["rawId"] = response["id"].clone();
        assert_eq!(register(&response), Err(WebAuthnError::CredentialId));
        let mut response = r.response.clone();
        response["type"] = json!("password");
        assert_eq!(register(&response), Err(WebAuthnError::Malformed("type")));
        let mut response = f.assertions[0].response.clone();
        response["id"] = json!(b64url(b"another"));
        assert_eq!(f.check(0, &response), Err(WebAuthnError::CredentialId));
    }
}

#[test]
fn absent_user_handles_and_transports() {
    let f = fixture(EDDSA);
    for handle in [json!(null), json!("")] {
        let mut response = f.assertions[0].response.clone();
        response["response"]["userHandle"] = handle;
        assert_eq!(f.check(0, &response).unwrap().user_handle, None);
    }
    let mut response = f.assertions[0].response.clone();
    response["response"].as_object_mut().unwrap().remove("userHandle");
    assert_eq!(f.check(0, &response).unwrap().user_handle, None);
    let r = &f.registration;
    let mut response = r.response.clone();
    response["response"].as_object_mut().unwrap().remove("transports");
    let register = |response: &Value| verify_registration(&f.expected(r), &response.to_string());
    assert_eq!(register(&response).unwrap().transports, Vec::<String>::new());
    for bad in [
        json!(vec!["hybrid"; 9]),
        json!(["x".repeat(33)]),
        json!([1]),
        json!("usb"),
    ] {
        response["response"]["transports"] = bad;
        assert_eq!(register(&response), Err(WebAuthnError::Malformed("transports")));
    }
}

/// A deterministic xorshift, for byte flips.
fn flips(seed: u64, n: usize) -> impl Iterator<Item = (usize, u8)> {
    let mut x = seed;
    (0..).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 8) as usize % n, (x as u8) | 1)
    })
}

#[test]
fn malformed_responses_are_errors_never_panics() {
    for f in all() {
        let r = &f.registration;
        let a = &f.assertions[0];
        let register = |response: &str| verify_registration(&f.expected(r), response).map(drop);
        let assert = |response: &str| check_assertion(&f.expected(a), response).map(drop);
        // Every truncation of the JSON text.
        let (reg_text, asr_text) = (r.response.to_string(), a.response.to_string());
        for end in 0..reg_text.len() {
            assert!(register(&reg_text[..end]).is_err());
        }
        for end in 0..asr_text.len() {
            assert!(assert(&asr_text[..end]).is_err());
        }
        // Every truncation of every binary member, and of its base64url text.
        for (response, fields, run) in [
            (
                &r.response,
                &["clientDataJSON", "attestationObject"][..],
                &register as &dyn Fn(&str) -> _,
            ),
            (
                &a.response,
                &["clientDataJSON", "authenticatorData", "signature", "userHandle"],
                &assert,
            ),
        ] {
            for field in fields {
                let bytes = decoded(response, field);
                let text = response["response"][field].as_str().unwrap();
                for end in 0..bytes.len() {
                    let cut = run(&with_bytes(response, field, &bytes[..end]).to_string());
                    // A shorter signature or user handle is well-formed; it fails later.
                    if !matches!(*field, "signature" | "userHandle") {
                        assert!(cut.is_err(), "{field} cut at {end}");
                    }
                    let mut bad_text = response.clone();
                    bad_text["response"][field] = json!(format!("{}!", &text[..end]));
                    assert!(run(&bad_text.to_string()).is_err());
                }
                // Bytes flipped anywhere: any answer but a panic.
                for (at, mask) in flips(bytes.len() as u64 + 17, bytes.len()).take(300) {
                    let mut flipped = bytes.clone();
                    flipped[at] ^= mask;
                    let _ = run(&with_bytes(response, field, &flipped).to_string());
                }
            }
        }
        // Members of the wrong JSON type.
        for (member, value) in [("id", json!(1)), ("response", json!("x")), ("rawId", json!(null))] {
            let mut response = r.response.clone();
            response[member] = value.clone();
            assert_eq!(register(&response.to_string()), Err(WebAuthnError::Malformed(member)));
            let mut response = a.response.clone();
            response[member] = value;
            assert_eq!(assert(&response.to_string()), Err(WebAuthnError::Malformed(member)));
        }
        for text in ["[]", "\"x\"", "{}"] {
            assert!(register(text).is_err() && assert(text).is_err());
        }
    }
}

#[test]
fn challenges_are_bound_to_their_form() {
    assert_eq!(challenge_for("form-a"), challenge_for("form-a"));
    assert_ne!(challenge_for("form-a"), challenge_for("form-b"));
    // Domain-separated: not the bare SHA-256 of the id.
    assert_ne!(challenge_for("form-a"), crate::protocol::encoding::sha256(b"form-a"));
}

#[test]
fn rp_id_and_origin_come_from_the_issuer() {
    let e = Expected::for_issuer("http://localhost:8787", [1; 32]).unwrap();
    assert_eq!(
        (e.rp_id.as_str(), e.origin.as_str()),
        ("localhost", "http://localhost:8787")
    );
    let e = Expected::for_issuer("https://ID.Example.com/tenant", [1; 32]).unwrap();
    assert_eq!(
        (e.rp_id.as_str(), e.origin.as_str()),
        ("id.example.com", "https://id.example.com")
    );
    for issuer in ["http://127.0.0.1:8787", "https://[::1]", "not a url"] {
        assert_eq!(Expected::for_issuer(issuer, [1; 32]), None, "{issuer}");
    }
}

#[test]
fn refusals_reach_the_page_as_invalid_request() {
    let e: crate::protocol::error::OAuthError = WebAuthnError::UserVerification.into();
    assert_eq!((e.code, e.status), (ErrorCode::InvalidRequest, 400));
    assert_eq!(e.description, WebAuthnError::UserVerification.description());
    assert_eq!(
        WebAuthnError::Malformed("clientDataJSON").to_string(),
        "the passkey response is malformed (clientDataJSON)"
    );
}
