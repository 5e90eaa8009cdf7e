//! edge-oidc: an OAuth 2.0 authorization server and OpenID Connect provider
//! for Cloudflare Workers.
//!
//! Everything outside the wasm32-only modules builds and tests on the host;
//! that boundary is what keeps `worker` types out of the protocol logic.

pub mod config;
pub mod grants;
pub mod log;
pub mod memo;
pub mod protocol;
pub mod random;
pub mod store;
pub mod ui;

#[cfg(target_arch = "wasm32")]
mod durable;
#[cfg(target_arch = "wasm32")]
mod endpoints;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod router;

#[cfg(target_arch = "wasm32")]
#[worker::event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[cfg(target_arch = "wasm32")]
#[worker::event(fetch)]
async fn fetch(
    req: worker::worker_sys::web_sys::Request,
    env: worker::Env,
    _ctx: worker::Context,
) -> worker::Result<worker::Response> {
    use endpoints::http::{error_response, transport_security};
    let req = endpoints::request::Request::new(req);
    let origin = req.url().origin.to_string();
    let config = match platform::config_from_env(&env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("configuration: {e}");
            // With the settings refused, the request's own origin decides.
            return Ok(transport_security(error_response(&e), &origin));
        }
    };
    let ctx = endpoints::Ctx {
        env,
        issuer: platform::issuer(&config, &origin),
        config,
        now: platform::now_secs(),
        identified: Default::default(),
    };
    Ok(transport_security(router::route(req, &ctx).await, &ctx.issuer))
}
