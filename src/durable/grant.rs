//! The grant Durable Object: holds one grant and applies operations to it
//! one at a time. Between reading the grant and writing it back there is no
//! `await` on anything but this object's own storage, whose input gate keeps
//! other requests out, so "use once" and "rotate once" hold.
//!
//! It deletes its own storage by alarm once nothing in the grant can be
//! used any more.

use crate::platform::now_secs;
use crate::protocol::grant::{apply, Grant};
use crate::store::durable::GrantCall;
use std::cell::RefCell;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const KEY: &str = "grant";

#[durable_object]
pub struct GrantObject {
    state: State,
    /// The grant as last stored; `None` until first loaded.
    cached: RefCell<Option<Option<Grant>>>,
}

impl GrantObject {
    async fn load(&self) -> Result<Option<Grant>> {
        if let Some(g) = self.cached.borrow().clone() {
            return Ok(g);
        }
        let g: Option<Grant> = self.state.storage().get(KEY).await?;
        *self.cached.borrow_mut() = Some(g.clone());
        Ok(g)
    }

    async fn schedule(&self, ends_at: u64, now: u64) -> Result<()> {
        let in_ms = ends_at.saturating_sub(now).saturating_mul(1000) as i64;
        self.state.storage().set_alarm(in_ms.max(0) + 1000).await
    }
}

impl DurableObject for GrantObject {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            cached: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        // Text and serde_json: `req.json()` would build a JavaScript object
        // and then walk it field by field.
        let call: GrantCall = serde_json::from_str(&req.text().await?)?;
        let mut slot = self.load().await?;
        let before = slot.clone();
        let reply = apply(&mut slot, call.op, call.now);
        if slot != before {
            if let Some(g) = &slot {
                self.state.storage().put(KEY, g).await?;
                // The alarm never fires later than the grant ends: it is set
                // when the grant is made and moved earlier when its end comes
                // closer (revocation). A later end (a code redeemed into a
                // refresh chain) needs no write here: the alarm, on finding
                // the grant alive, moves itself (see `alarm`).
                let ends_before = before.as_ref().map(Grant::ends_at);
                if ends_before.is_none_or(|end| g.ends_at() < end) {
                    self.schedule(g.ends_at(), call.now).await?;
                }
            }
            *self.cached.borrow_mut() = Some(slot);
        }
        Response::from_json(&reply)
    }

    async fn alarm(&self) -> Result<Response> {
        let now = now_secs();
        match self.load().await? {
            Some(g) if g.ends_at() > now => self.schedule(g.ends_at(), now).await?,
            _ => {
                self.state.storage().delete_all().await?;
                *self.cached.borrow_mut() = Some(None);
            }
        }
        Response::ok("")
    }
}
