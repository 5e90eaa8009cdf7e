//! An upstream's ID token (OIDC Core §2), taken apart with jwt-compact and
//! checked per OIDC Core §3.1.3.7.

use super::FederationError;
use crate::protocol::encoding::ct_eq;
use crate::protocol::jose::SigningAlg;
use chrono::{DateTime, Duration, TimeZone, Utc};
use jwt_compact::{Claims, TimeOptions, UntrustedToken};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Clock skew we forgive between the upstream and us, in seconds.
const LEEWAY: i64 = 60;
/// OIDC Core §2 `sub`: "It MUST NOT exceed 255 ASCII characters in length".
const SUB_MAX: usize = 255;

/// The header members jwt-compact does not read that we must look at.
#[derive(Deserialize)]
struct HeaderExtra {
    /// RFC 7515 §4.1.11: extensions "not understood and supported by the
    /// recipient" make the JWS invalid; we support none.
    crit: Option<serde::de::IgnoredAny>,
}

/// An ID token as received: nothing in it is trusted yet. The order is:
/// [`parse_id_token`] → [`select_key`](super::jwks::select_key) with `alg`
/// and `kid` → the platform verifies `signature` over `signing_input` with
/// that key (a [`SignatureVerifier`](crate::store::SignatureVerifier)) →
/// only then [`check`](Self::check), whose claims may be used. Claims are
/// private so nothing reads them before that.
#[derive(Debug)]
pub struct UnverifiedIdToken {
    pub alg: SigningAlg,
    pub kid: Option<String>,
    /// `header.payload`, the bytes the signature is over (RFC 7515 §5.2).
    pub signing_input: Vec<u8>,
    /// The raw signature: for ES256 `r || s` (RFC 7518 §3.4), which is
    /// what WebCrypto verifies.
    pub signature: Vec<u8>,
    claims: Claims<Map<String, Value>>,
}

fn invalid(what: impl Into<String>) -> FederationError {
    FederationError::InvalidIdToken(what.into())
}

/// Takes a compact JWS apart (jwt-compact: three base64url parts, a JSON
/// header, JSON claims). Only RS256, ES256 and EdDSA are accepted: `none`
/// (OIDC Core §3.1.3.7 wants a signature from the code flow's token
/// endpoint too, since we verify it), the HMAC algorithms (keyed with the
/// client secret: anyone holding it could mint them) and every other one
/// are refused, as is any `crit` header.
pub fn parse_id_token(jwt: &str) -> Result<UnverifiedIdToken, FederationError> {
    let token = UntrustedToken::<HeaderExtra>::try_from(jwt).map_err(|e| invalid(format!("malformed: {e}")))?;
    if token.header().other_fields.crit.is_some() {
        return Err(invalid("its header has crit"));
    }
    let alg = SigningAlg::parse(token.algorithm())
        .ok_or_else(|| invalid(format!("alg {:?} is not RS256, ES256 or EdDSA", token.algorithm())))?;
    let claims = token
        .deserialize_claims_unchecked::<Map<String, Value>>()
        .map_err(|e| invalid(format!("claims: {e}")))?;
    // jwt-compact checked there are exactly three parts.
    let signing_input = jwt.rsplit_once('.').map_or(jwt, |(input, _)| input);
    Ok(UnverifiedIdToken {
        alg,
        kid: token.header().key_id.clone(),
        signing_input: signing_input.as_bytes().to_vec(),
        signature: token.signature_bytes().to_vec(),
        claims,
    })
}

/// What the ID token must say, all from our side of the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The issuer the provider is configured with (and discovery confirmed).
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent in this browser's authorization request.
    pub nonce: &'a str,
    /// Discovery's `id_token_signing_alg_values_supported`; empty means
    /// RS256 only (OIDC Core §3.1.3.7: "the default of RS256").
    pub allowed_algs: &'a [String],
    pub now: u64,
}

fn time(now: u64) -> DateTime<Utc> {
    let secs = i64::try_from(now).unwrap_or(i64::MAX);
    Utc.timestamp_opt(secs, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// OIDC Core §3.1.3.7 steps 3–5: `aud` "contains the Client ID" (a
/// string, or an array of strings); "If the ID Token contains multiple
/// audiences, the Client SHOULD verify that an azp Claim is present" (we
/// require it); "If an azp (authorized party) Claim is present, the Client
/// SHOULD verify that its client_id is the Claim Value".
fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), FederationError> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud],
        Some(Value::Array(items)) => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("aud is not a string or an array of strings"))?,
        _ => return Err(invalid("aud is missing")),
    };
    if !audiences.contains(&client_id) {
        return Err(invalid("aud does not include this client"));
    }
    match claims.get("azp") {
        Some(azp) if azp != client_id => Err(invalid("azp is not this client")),
        None if audiences.len() > 1 => Err(invalid("aud has several members and there is no azp")),
        _ => Ok(()),
    }
}

impl UnverifiedIdToken {
    /// The checks of OIDC Core §3.1.3.7, once the signature verified:
    /// the algorithm is one the provider signs with (step 7), `iss` is
    /// exactly the issuer (step 2), the audience is ours (steps 3–5),
    /// `exp` has not passed (step 9) and `iat` is not in the future,
    /// both within a minute's leeway (jwt-compact's time checks, with a
    /// clock made from `now`), `nbf` if present has come, the `nonce` is
    /// the one we sent (step 11, compared in constant time), and `sub` is
    /// a non-empty string of at most 255 characters (§2). Returns the
    /// claims without the time claims, which are checked here.
    pub fn check(self, expected: &Expected) -> Result<Map<String, Value>, FederationError> {
        let allowed = match expected.allowed_algs {
            [] => self.alg == SigningAlg::RS256,
            algs => algs.iter().any(|a| a == self.alg.as_str()),
        };
        if !allowed {
            return Err(invalid(format!(
                "alg {} is not one the provider signs with",
                self.alg.as_str()
            )));
        }
        let claims = &self.claims.custom;
        if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
            return Err(invalid("iss is not the provider's issuer"));
        }
        check_audience(claims, expected.client_id)?;
        let now = time(expected.now);
        let options = TimeOptions::new(Duration::seconds(LEEWAY), move || now);
        self.claims
            .validate_expiration(&options)
            .map_err(|e| invalid(format!("exp: {e}")))?;
        match self.claims.issued_at {
            None => return Err(invalid("iat is missing")),
            Some(iat) if iat > now + options.leeway => return Err(invalid("iat is in the future")),
            Some(_) => {}
        }
        if self.claims.not_before.is_some() {
            self.claims
                .validate_maturity(&options)
                .map_err(|e| invalid(format!("nbf: {e}")))?;
        }
        match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) if ct_eq(nonce.as_bytes(), expected.nonce.as_bytes()) => {}
            Some(_) => return Err(invalid("nonce is not the one this sign-in sent")),
            None => return Err(invalid("nonce is missing")),
        }
        match claims.get("sub").and_then(Value::as_str) {
            Some(sub) if !sub.is_empty() && sub.len() <= SUB_MAX => {}
            _ => return Err(invalid("sub is missing, empty or longer than 255 characters")),
        }
        Ok(self.claims.custom)
    }
}
