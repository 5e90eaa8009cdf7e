// The worker's entry module: everything worker-build generates (index.js:
// the fetch handler, the KeyRing Durable Object) plus our other Durable
// Objects, each a small JavaScript class around a Rust state machine
// (src/durable/step.rs): the grant object (one per authorization), the
// sign-in throttle (one per account and per client address), the
// single-use record (one per posted form) and the registration token (one
// per initial access token the admin mints) and the passkeys of an account
// (one per account) and the account an upstream identity is linked to (one
// per upstream identity) and the admin console's sessions (one per session). scripts/setup.sh copies this
// file into build/.
//
// JavaScript because each object's whole job is one storage read, one pure
// decision and one write: a worker-rs object spends more than that on its
// own glue, and only a JavaScript class can take RPC calls, which skip the
// Request and Response a fetch would build.
import { DurableObject } from "cloudflare:workers";
import { AdminSessionStep, GrantStep, LinkStep, OnceStep, PasskeyStep, RegistrationTokenStep, ThrottleStep } from "./index.js";

export * from "./index.js";
export { default } from "./index.js";

/**
 * A Durable Object class whose state is one value under `key`, decided by
 * the machine `Step` (`Step.apply(stored, call)`, `Step.nextAlarm(stored)`).
 */
function machineObject(Step, key) {
  return class extends DurableObject {
    // The state as stored; null when there is none, undefined until read.
    #stored;

    #load() {
      if (this.#stored === undefined) this.#stored = this.ctx.storage.kv.get(key) ?? null;
      return this.#stored;
    }

    /**
     * Applies one operation (an ObjectCall, JSON) and answers its reply
     * (JSON). It runs without a single await (SQLite storage's synchronous
     * KV API), so no other call can interleave: that is "use once", "rotate
     * once" and "count every attempt". The output gate holds the reply
     * until the writes are durable, and a failed write resets the object,
     * cache included.
     */
    run(call) {
      const step = Step.apply(this.#load(), call);
      try {
        if (step.state !== undefined) {
          this.ctx.storage.kv.put(key, step.state);
          this.#stored = step.state;
        }
        if (step.alarmAt !== undefined) this.ctx.storage.setAlarm(step.alarmAt);
        return step.reply;
      } finally {
        step.free();
      }
    }

    /** Clean-up: moves on while the state can still matter, else deletes it all. */
    async alarm() {
      const next = Step.nextAlarm(this.#load());
      if (next !== undefined) {
        await this.ctx.storage.setAlarm(next);
      } else {
        await this.ctx.storage.deleteAll();
        this.#stored = null;
      }
    }
  };
}

export class GrantObject extends machineObject(GrantStep, "grant") {}
export class ThrottleObject extends machineObject(ThrottleStep, "attempts") {}
export class OnceObject extends machineObject(OnceStep, "used") {}
export class RegistrationTokenObject extends machineObject(RegistrationTokenStep, "token") {}
export class PasskeyObject extends machineObject(PasskeyStep, "passkeys") {}
export class LinkObject extends machineObject(LinkStep, "link") {}
export class AdminSessionObject extends machineObject(AdminSessionStep, "session") {}
