//! Reading the platform once per request: the clock and the settings.

use crate::config::Config;
use crate::protocol::error::OAuthError;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{Date, Env};

/// Unix seconds from the JavaScript clock (`SystemTime` panics in wasm).
pub fn now_secs() -> u64 {
    Date::now().as_millis() / 1000
}

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
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
