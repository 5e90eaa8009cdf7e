//! Reading the `Cookie` header and writing `Set-Cookie` (RFC 6265).

/// The value of cookie `name`, if the browser sent it.
pub fn get<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always (the login
/// session must survive the redirect back from a relying party, so Strict
/// would break it); `Secure` only when served over https, because most HTTP
/// clients will not send a Secure cookie to `http://127.0.0.1`.
/// `max_age: 0` deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// A cookie that an upstream provider's answer must bring back even when it
/// arrives as a cross-site POST (`response_mode=form_post`, which Lax
/// withholds): `SameSite=None`, which browsers take only with `Secure`, so
/// over plain http (local development) it stays Lax. Only under `path`.
pub fn set_cross_site_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> String {
    let same_site = if secure { "None; Secure" } else { "Lax" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}")
}

/// A cookie for `path` only that no other site's request carries, not even
/// a link followed from it (`SameSite=Strict`): the admin console's.
pub fn set_strict_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_cookies_stay_on_their_path_and_site() {
        assert_eq!(
            set_strict_cookie("a", "v", "/admin", 60, true),
            "a=v; Path=/admin; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_strict_cookie("a", "", "/admin", 0, false).contains("Secure"));
    }

    #[test]
    fn reads_named_cookie() {
        let h = "a=1; oidc_session=abc; b=\"q\"; empty=";
        assert_eq!(get(h, "oidc_session"), Some("abc"));
        assert_eq!(get(h, "b"), Some("q"));
        assert_eq!(get(h, "empty"), None);
        assert_eq!(get(h, "missing"), None);
        assert_eq!(get("", "a"), None);
    }

    #[test]
    fn set_cookie_attributes() {
        assert_eq!(
            set_cookie("s", "v", 60, false),
            "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        assert!(set_cookie("s", "v", 60, true).ends_with("; Secure"));
        assert!(set_cookie("s", "", 0, false).contains("Max-Age=0"));
        assert_eq!(
            set_cross_site_cookie("f", "v", "/federation/", 600, true),
            "f=v; Path=/federation/; Max-Age=600; HttpOnly; SameSite=None; Secure"
        );
        assert!(set_cross_site_cookie("f", "v", "/x/", 600, false).ends_with("SameSite=Lax"));
    }
}
