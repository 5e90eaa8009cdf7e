//! Reading the platform once per request: the clock and the settings.

use crate::config::{is_local_origin, Config};
use crate::memo::Memo;
use crate::protocol::error::OAuthError;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use worker::{Date, Env};

/// Unix seconds from the JavaScript clock (`SystemTime` panics in wasm).
pub fn now_secs() -> u64 {
    Date::now().as_millis() / 1000
}

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
    static WARNED_NO_ISSUER: Cell<bool> = const { Cell::new(false) };
    /// Whether the last origin served without `ISSUER` was local: parsing it
    /// as a URL for every request cost a twentieth of a millisecond.
    static LOCAL_ORIGIN: Memo<String, bool> = const { Memo::new() };
}

/// The issuer a request is served under: `ISSUER`, or else the request's
/// own origin. That fallback is for local development; anywhere else it
/// lets whoever picks the `Host` header pick the issuer too, so it is said
/// loudly, once per isolate, the first time a non-loopback host is served.
pub fn issuer(config: &Config, origin: &str) -> String {
    if let Some(issuer) = &config.issuer {
        return issuer.clone();
    }
    if !WARNED_NO_ISSUER.with(Cell::get) && !LOCAL_ORIGIN.with(|m| m.get_or(origin, is_local_origin)) {
        WARNED_NO_ISSUER.with(|w| w.set(true));
        worker::console_warn!(
            "WARNING: ISSUER is not set, so the issuer follows each request's Host header (this one: {origin}). \
             Tokens, discovery and cookies then depend on a header the client chooses. \
             Set ISSUER under [vars] in wrangler.toml to the public https origin."
        );
    }
    origin.to_string()
}

/// Settings from vars and secrets, parsed once per isolate: they cannot
/// change without a new deployment, which starts new isolates.
pub fn config_from_env(env: &Env) -> Result<Rc<Config>, OAuthError> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let lookup = |name: &str| {
        env.var(name)
            .map(|v| v.to_string())
            .or_else(|_| env.secret(name).map(|s| s.to_string()))
            .ok()
    };
    let config = Rc::new(Config::from_lookup(lookup)?);
    CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}
