//! Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2.

use super::acr;
use super::jose::SigningAlg;
use super::user::scope_claim_names;
use serde_json::{json, Value};

pub const SCOPES_SUPPORTED: [&str; 6] = ["openid", "profile", "email", "address", "phone", "offline_access"];

/// The claims of our ID tokens; the user claims follow from the scopes
/// (`user::scope_claim_names`).
const TOKEN_CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "sid",
    "amr",
    "acr",
    "idp",
];

fn claims_supported() -> Vec<&'static str> {
    TOKEN_CLAIMS.into_iter().chain(scope_claim_names()).collect()
}

/// The metadata document for `issuer` (no trailing slash). Both discovery
/// paths serve the same document: RFC 8414 §3 allows the OIDC metadata to be
/// served at its well-known URI, and every member here is defined by one of
/// the two.
pub fn provider_metadata(issuer: &str) -> Value {
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let client_auth = ["client_secret_basic", "client_secret_post"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": client_auth,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims_supported(),
        // OIDC Discovery §3; what `phr` takes is in `protocol::acr`.
        "acr_values_supported": acr::SUPPORTED,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        // OIDC Discovery §3: the default is true, so it must be said.
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        // draft-ietf-oauth-client-id-metadata-document §6 (`client_document`).
        "client_id_metadata_document_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer() {
        let m = provider_metadata("https://id.example.com");
        assert_eq!(m["issuer"], "https://id.example.com");
        assert_eq!(m["token_endpoint"], "https://id.example.com/token");
        assert_eq!(m["jwks_uri"], "https://id.example.com/jwks.json");
        assert_eq!(m["end_session_endpoint"], "https://id.example.com/logout");
    }

    #[test]
    fn advertises_what_the_provider_does() {
        let m = provider_metadata("https://i");
        assert_eq!(m["response_types_supported"], json!(["code"]));
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            m["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256", "EdDSA"])
        );
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(m["client_id_metadata_document_supported"], true);
        assert!(m["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("offline_access")));
        // The token claims and every claim a scope releases, each once.
        let claims: Vec<&str> = m["claims_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<_> = claims.iter().collect();
        assert_eq!((claims.len(), distinct.len()), (32, 32));
        for c in [
            "sid",
            "amr",
            "acr",
            "at_hash",
            "updated_at",
            "email_verified",
            "address",
            "phone_number_verified",
        ] {
            assert!(claims.contains(&c), "{c}");
        }
        assert_eq!(m["request_uri_parameter_supported"], false);
        assert_eq!(m["acr_values_supported"], json!(["phr"]));
    }
}
