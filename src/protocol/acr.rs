//! How the person signed in, and how a client asks for a kind of sign-in:
//! RFC 8176 authentication method references (`amr`), and authentication
//! context classes (`acr`) as OIDC Core §3.1.2.1 `acr_values` and OIDC
//! Registration §2 `default_acr_values` request them.

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

/// OpenID Connect EAP ACR Values 1.0 §2 `phr`, "Phishing-Resistant. An
/// authentication mechanism where a party potentially under the control of
/// the Relying Party cannot gain sufficient information to be able to
/// successfully authenticate to the End User's OpenID Provider as if that
/// party were the End User": a passkey, which the browser binds to our
/// origin. A password can be typed into any page, so it never is.
pub const PHISHING_RESISTANT: &str = "phr";

/// The `acr` values we offer (discovery's `acr_values_supported`). Kept as
/// the wire strings wherever they are stored (forms, grants): a typed
/// value would cost its own deserializer in the wasm build.
pub const SUPPORTED: [&str; 1] = [PHISHING_RESISTANT];

/// Whether a sign-in by the methods `amr` achieves the class `acr`.
pub fn achieved_by(acr: &str, amr: &[String]) -> bool {
    match acr {
        PHISHING_RESISTANT => amr.iter().any(|m| m == HARDWARE_KEY || m == SOFTWARE_KEY),
        _ => false,
    }
}

/// The classes a request asks for that we offer, in its order of
/// preference: OIDC Core §3.1.2.1 `acr_values` ("Space-separated string
/// ... with the values appearing in order of preference"), else the
/// client's `default_acr_values` (OIDC Registration §2: "Values specified
/// in the acr_values request parameter ... override these default
/// values"). Values we do not offer are ignored: the `acr` claim they ask
/// for is "requested as a Voluntary Claim".
pub fn requested(acr_values: Option<&str>, default_acr_values: &[String]) -> Vec<String> {
    let mut values: Vec<&str> = acr_values.unwrap_or("").split(' ').filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        values = default_acr_values.iter().map(String::as_str).collect();
    }
    let mut out: Vec<String> = Vec::new();
    for value in values.into_iter().filter(|v| SUPPORTED.contains(v)) {
        if !out.iter().any(|o| o == value) {
            out.push(value.to_owned());
        }
    }
    out
}

/// OIDC Core §2 `acr`: "the Authentication Context Class that the
/// authentication performed satisfied": the first requested class (in
/// order of preference) that a sign-in by `amr` achieves; none when none
/// was requested, or none is achieved.
pub fn achieved<'a>(requested: &'a [String], amr: &[String]) -> Option<&'a str> {
    requested.iter().map(String::as_str).find(|a| achieved_by(a, amr))
}

/// Whether a sign-in by `amr` may serve the request. The claim is voluntary
/// in OIDC Core, but the only class we offer is one a client asks for to
/// be sure of it (a phishing-resistant sign-in that can be bypassed is
/// not one), so asking for classes we offer requires one of them.
pub fn satisfies(requested: &[String], amr: &[String]) -> bool {
    requested.is_empty() || achieved(requested, amr).is_some()
}

/// Whether only a passkey can serve the request: a password sign-in does
/// not satisfy it. The login page then says so and takes no password.
pub fn requires_passkey(requested: &[String]) -> bool {
    !satisfies(requested, &password_amr())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn acr_values_win_over_the_defaults_and_unknown_ones_are_ignored() {
        let phr_default = strings(&["urn:x", "phr"]);
        // (acr_values, default_acr_values, requested)
        let cases: [(Option<&str>, &[String], &[&str]); 9] = [
            (None, &[], &[]),
            (Some("phr"), &[], &["phr"]),
            (Some("urn:x phr"), &[], &["phr"]),
            (Some("phr  phr "), &[], &["phr"]),
            (Some("urn:x"), &[], &[]),
            (None, &phr_default, &["phr"]),
            (Some(""), &phr_default, &["phr"]),
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
            assert_eq!(achieved_by("phr", &strings(methods)), want, "{methods:?}");
            assert!(!achieved_by("urn:x", &strings(methods)), "{methods:?}");
        }
    }

    #[test]
    fn the_acr_claim_is_the_first_requested_class_achieved() {
        let (passkey, phr) = (strings(&["hwk", "user"]), strings(&["phr"]));
        assert_eq!(achieved(&phr, &passkey), Some("phr"));
        assert_eq!(achieved(&phr, &password_amr()), None);
        assert_eq!(achieved(&[], &passkey), None, "no acr unless asked");
    }

    #[test]
    fn asking_for_phr_requires_a_passkey() {
        let (passkey, phr) = (strings(&["swk", "user"]), strings(&["phr"]));
        assert!(satisfies(&[], &password_amr()));
        assert!(satisfies(&phr, &passkey));
        assert!(!satisfies(&phr, &password_amr()));
        assert!(requires_passkey(&phr));
        assert!(!requires_passkey(&[]));
    }

    #[test]
    fn a_password_sign_in_is_pwd() {
        assert_eq!(password_amr(), ["pwd"]);
    }
}
