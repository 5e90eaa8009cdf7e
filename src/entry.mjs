// The worker's entry module: everything worker-build generates (index.js:
// the fetch handler, the KeyRing Durable Object) plus the grant Durable
// Object, which is a JavaScript class around the Rust state machine
// (src/durable/grant.rs). scripts/setup.sh copies this file into build/.
//
// JavaScript because the object's whole job is one storage read, one pure
// decision and one write: a worker-rs object spends more than that on its
// own glue, and only a JavaScript class can take RPC calls, which skip the
// Request and Response a fetch would build.
import { DurableObject } from "cloudflare:workers";
import { GrantStep } from "./index.js";

export * from "./index.js";
export { default } from "./index.js";

const KEY = "grant";

export class GrantObject extends DurableObject {
  // The grant as stored; null when there is none, undefined until read.
  #stored;

  #load() {
    if (this.#stored === undefined) this.#stored = this.ctx.storage.kv.get(KEY) ?? null;
    return this.#stored;
  }

  /**
   * Applies one operation (a GrantCall, JSON) and answers its GrantReply
   * (JSON). It runs without a single await (SQLite storage's synchronous KV
   * API), so no other call can interleave: that is "use once" and "rotate
   * once". The output gate holds the reply until the writes are durable, and
   * a failed write resets the object, cache included.
   */
  run(call) {
    const step = GrantStep.apply(this.#load(), call);
    try {
      if (step.grant !== undefined) {
        this.ctx.storage.kv.put(KEY, step.grant);
        this.#stored = step.grant;
      }
      if (step.alarmAt !== undefined) this.ctx.storage.setAlarm(step.alarmAt);
      return step.reply;
    } finally {
      step.free();
    }
  }

  /** Clean-up: moves on while the grant has a use left, else deletes it all. */
  async alarm() {
    const next = GrantStep.nextAlarm(this.#load());
    if (next !== undefined) {
      await this.ctx.storage.setAlarm(next);
    } else {
      await this.ctx.storage.deleteAll();
      this.#stored = null;
    }
  }
}

// ---- Registration tokens: one object per token, named by its id ----------
// The same shape as the grant object: one synchronous step per call
// (src/durable/registration_token.rs → protocol::registration_token), so of
// concurrent registrations with one token exactly `max_uses` succeed, and an
// alarm that deletes the token's storage once it has expired or been revoked.
import { RegistrationTokenStep } from "./index.js";

const TOKEN_KEY = "token";

export class RegistrationTokenObject extends DurableObject {
  // The token as stored; null when there is none, undefined until read.
  #stored;

  #load() {
    if (this.#stored === undefined) this.#stored = this.ctx.storage.kv.get(TOKEN_KEY) ?? null;
    return this.#stored;
  }

  /** Applies one TokenCall (JSON) and answers its TokenReply (JSON), with no await. */
  run(call) {
    const step = RegistrationTokenStep.apply(this.#load(), call);
    try {
      if (step.token !== undefined) {
        this.ctx.storage.kv.put(TOKEN_KEY, step.token);
        this.#stored = step.token;
      }
      if (step.alarmAt !== undefined) this.ctx.storage.setAlarm(step.alarmAt);
      return step.reply;
    } finally {
      step.free();
    }
  }

  /** Clean-up: moves on until the token has ended, then deletes it all. */
  async alarm() {
    const next = RegistrationTokenStep.nextAlarm(this.#load());
    if (next !== undefined) {
      await this.ctx.storage.setAlarm(next);
    } else {
      await this.ctx.storage.deleteAll();
      this.#stored = null;
    }
  }
}
