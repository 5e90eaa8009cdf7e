//! How the person signed in, and how a client asks for a kind of sign-in:
//! RFC 8176 authentication method references (`amr`), and authentication
//! context classes (`acr`) as OIDC Core §3.1.2.1 `acr_values` and OIDC
//! Registration §2 `default_acr_values` request them.

use serde::{Deserialize, Serialize};

/// RFC 8176 §2 `pwd`: "Password-based authentication".
const PASSWORD: &str = "pwd";
/// RFC 8176 §2 `hwk`: "Proof-of-Possession (PoP) of a hardware-secured key"
/// (a passkey that cannot leave its authenticator).
const HARDWARE_KEY: &str = "hwk";
/// RFC 8176 §2 `swk`: "Proof-of-Possession (PoP) of a software-secured key"
/// (a synced passkey).
const SOFTWARE_KEY: &str = "swk";

/// The `amr` of a password sign-in. Also that of sessions and grants stored
/// before `amr` was kept: a password was the only way in then.
pub fn password_amr() -> Vec<String> {
    vec![PASSWORD.into()]
}

/// The authentication context classes we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acr {
    /// OpenID Connect EAP ACR Values 1.0 §2 `phr`, "Phishing-Resistant. An
    /// authentication mechanism where a party potentially under the control
    /// of the Relying Party cannot gain sufficient information to be able to
    /// successfully authenticate to the End User's OpenID Provider as if
    /// that party were the End User": a passkey, bound to our origin by the
    /// browser. A password can be typed into any page, so it never is.
    Phr,
}

impl Acr {
    pub const ALL: [Acr; 1] = [Acr::Phr];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phr => "phr",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// Whether a sign-in by the methods `amr` achieves this class.
    pub fn achieved_by(self, amr: &[String]) -> bool {
        match self {
            Self::Phr => amr.iter().any(|m| m == HARDWARE_KEY || m == SOFTWARE_KEY),
        }
    }
}

/// The classes a request asks for, in its order of preference: OIDC Core
/// §3.1.2.1 `acr_values` ("Space-separated string ... with the values
/// appearing in order of preference"), else the client's
/// `default_acr_values` (OIDC Registration §2: "Values specified in the
/// acr_values request parameter ... override these default values").
/// Values we do not offer are ignored: the `acr` claim they ask for is
/// "requested as a Voluntary Claim".
pub fn requested(acr_values: Option<&str>, default_acr_values: &[String]) -> Vec<Acr> {
    let mut values: Vec<&str> = acr_values.unwrap_or("").split(' ').filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        values = default_acr_values.iter().map(String::as_str).collect();
    }
    let mut out = Vec::new();
    for acr in values.into_iter().filter_map(Acr::parse) {
        if !out.contains(&acr) {
            out.push(acr);
        }
    }
    out
}

/// OIDC Core §2 `acr`: "the Authentication Context Class that the
/// authentication performed satisfied": the first requested class (in
/// order of preference) that a sign-in by `amr` achieves; none when none
/// was requested, or none is achieved.
pub fn achieved(requested: &[Acr], amr: &[String]) -> Option<Acr> {
    requested.iter().copied().find(|a| a.achieved_by(amr))
}

/// Whether a sign-in by `amr` may serve the request. The claim is voluntary
/// in OIDC Core, but the only class we offer is one a client asks for to
/// be sure of it (a phishing-resistant sign-in that can be bypassed is
/// not one), so asking for classes we offer requires one of them.
pub fn satisfies(requested: &[Acr], amr: &[String]) -> bool {
    requested.is_empty() || achieved(requested, amr).is_some()
}

/// Whether only a passkey can serve the request: a password sign-in does
/// not satisfy it. The login page then says so and takes no password.
pub fn requires_passkey(requested: &[Acr]) -> bool {
    !satisfies(requested, &password_amr())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn acr_values_win_over_the_defaults_and_unknown_ones_are_ignored() {
        let phr_default = amr(&["phr"]);
        // (acr_values, default_acr_values, requested)
        let cases: [(Option<&str>, &[String], &[Acr]); 9] = [
            (None, &[], &[]),
            (Some("phr"), &[], &[Acr::Phr]),
            (Some("urn:x phr"), &[], &[Acr::Phr]),
            (Some("phr  phr "), &[], &[Acr::Phr]),
            (Some("urn:x"), &[], &[]),
            (None, &phr_default, &[Acr::Phr]),
            (Some(""), &phr_default, &[Acr::Phr]),
            // The request's own values replace the defaults, even unknown ones.
            (Some("urn:x"), &phr_default, &[]),
            (Some("PHR"), &[], &[]),
        ];
        for (values, defaults, want) in cases {
            assert_eq!(requested(values, defaults), want, "{values:?} {defaults:?}");
        }
    }

    #[test]
    fn phr_is_achieved_by_a_passkey_only() {
        for (methods, want) in [
            (&["hwk", "user"][..], true),
            (&["swk", "user"], true),
            (&["pwd"], false),
            (&["user"], false),
            (&[], false),
        ] {
            assert_eq!(Acr::Phr.achieved_by(&amr(methods)), want, "{methods:?}");
        }
    }

    #[test]
    fn the_acr_claim_is_the_first_requested_class_achieved() {
        let passkey = amr(&["hwk", "user"]);
        assert_eq!(achieved(&[Acr::Phr], &passkey), Some(Acr::Phr));
        assert_eq!(achieved(&[Acr::Phr], &password_amr()), None);
        assert_eq!(achieved(&[], &passkey), None, "no acr unless asked");
    }

    #[test]
    fn asking_for_phr_requires_a_passkey() {
        let passkey = amr(&["swk", "user"]);
        assert!(satisfies(&[], &password_amr()));
        assert!(satisfies(&[Acr::Phr], &passkey));
        assert!(!satisfies(&[Acr::Phr], &password_amr()));
        assert!(requires_passkey(&[Acr::Phr]));
        assert!(!requires_passkey(&[]));
    }

    #[test]
    fn serialised_as_the_wire_value() {
        assert_eq!(serde_json::to_string(&Acr::Phr).unwrap(), "\"phr\"");
        assert_eq!(password_amr(), ["pwd"]);
    }
}
