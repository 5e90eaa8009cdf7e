//! Our Durable Objects as the worker sees them: one RPC per operation to
//! the object's `run` (src/entry.mjs), with the operation as JSON text,
//! answered the same way.
//!
//! Grants: one object per grant, created with a unique id whose hex form is
//! the grant id, so reaching a grant needs no lookup and grants never
//! contend with one another. Throttles and single-use records: one object
//! per thing, named by what it is about (`DurableObjects`).

use super::{GrantStore, ObjectStore, StoreError, StoreResult};
use crate::protocol::grant::{GrantMachine, GrantOp, GrantReply, Refusal};
use crate::protocol::object::Machine;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use wasm_bindgen::prelude::*;
use worker::{Env, ObjectNamespace, Stub};

/// The message the worker sends to an object.
#[derive(Serialize, Deserialize)]
pub struct ObjectCall<Op> {
    pub op: Op,
    pub now: u64,
}

fn do_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("durable object: {e}"))
}

#[wasm_bindgen(inline_js = r#"
export async function call_object(stub, body) {
  return await stub.run(body);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn call_object(stub: &JsValue, body: &str) -> Result<JsValue, JsValue>;
}

async fn call<M: Machine>(stub: Stub, op: M::Op, now: u64) -> StoreResult<M::Reply> {
    let body = serde_json::to_string(&ObjectCall { op, now }).map_err(do_err)?;
    serde_json::from_str(&call_text(stub, &body).await?).map_err(do_err)
}

/// The RPC itself, once for every kind of object: only the JSON is per kind.
async fn call_text(stub: Stub, body: &str) -> StoreResult<String> {
    let text = call_object(&stub.into_rpc::<JsValue>(), body)
        .await
        .map_err(|e| do_err(format!("{e:?}")))?;
    text.as_string().ok_or_else(|| do_err("the answer is not text"))
}

pub struct DurableGrants(pub ObjectNamespace);

#[async_trait(?Send)]
impl GrantStore for DurableGrants {
    /// A unique id is made here, in the worker, without reaching any
    /// object: the object comes to exist where it is first called, and a
    /// unique id (unlike a name) needs no global check that it is new.
    fn new_id(&self) -> StoreResult<String> {
        Ok(self.0.unique_id().map_err(do_err)?.to_string())
    }

    async fn apply(&self, id: &str, op: GrantOp, now: u64) -> StoreResult<GrantReply> {
        // An id that is not one of ours (a forged or mangled token) is
        // simply an unknown grant.
        let Ok(object) = self.0.id_from_string(id) else {
            return Ok(GrantReply::Refused {
                refusal: Refusal::NotFound,
            });
        };
        call::<GrantMachine>(object.get_stub().map_err(do_err)?, op, now).await
    }
}

/// Objects of one kind, each named by what it is about.
pub struct DurableObjects<M> {
    namespace: ObjectNamespace,
    machine: PhantomData<M>,
}

impl<M> DurableObjects<M> {
    pub fn bind(env: &Env, binding: &str) -> StoreResult<Self> {
        Ok(Self {
            namespace: env.durable_object(binding).map_err(do_err)?,
            machine: PhantomData,
        })
    }
}

#[async_trait(?Send)]
impl<M: Machine> ObjectStore<M> for DurableObjects<M> {
    async fn apply(&self, name: &str, op: M::Op, now: u64) -> StoreResult<M::Reply> {
        let stub = self
            .namespace
            .id_from_name(name)
            .and_then(|id| id.get_stub())
            .map_err(do_err)?;
        call::<M>(stub, op, now).await
    }
}
