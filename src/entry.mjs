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
import { DurableObject, env } from "cloudflare:workers";
import Worker, { AdminSessionStep, GrantStep, LinkStep, OnceStep, PasskeyStep, RegistrationTokenStep, ThrottleStep } from "./index.js";

export * from "./index.js";

// Published documents (discovery, the JWK set) that the worker marked with
// this header, by URL: answered again from here, without entering the wasm,
// for as many seconds as the header says. Their bodies are ready-made
// strings on the Rust side too; what a request costs there is worker-rs's
// way in and out (its entrypoint proxy, the Request and Response
// conversions), which cost more than the plain JavaScript of the peer's
// whole answer. Few entries, so that any number of hosts or query strings
// cannot grow it; any other request than a GET empties it, so a key
// rotation at /admin is seen at once by the isolate that made it.
const ISOLATE_CACHE = "x-edge-oidc-isolate-cache";
const DOCUMENTS_MAX = 8;
const documents = new Map();

function served(request) {
  if (request.method !== "GET") {
    documents.clear();
    return undefined;
  }
  const kept = documents.get(request.url);
  if (kept && Date.now() < kept.until) return new Response(kept.body, kept);
  return undefined;
}

async function keep(request, response) {
  const seconds = Number(response.headers.get(ISOLATE_CACHE));
  if (!response.headers.has(ISOLATE_CACHE)) return response;
  const headers = new Headers(response.headers);
  headers.delete(ISOLATE_CACHE);
  const body = await response.text();
  if (response.status === 200 && seconds > 0) {
    if (documents.size >= DOCUMENTS_MAX) documents.clear();
    documents.set(request.url, { body, status: 200, headers, until: Date.now() + seconds * 1000 });
  }
  return new Response(body, { status: response.status, headers });
}

// A plain module handler, not a subclass of worker-build's entrypoint:
// that class is a Proxy whose construct and get traps run for every
// instance (they restart the wasm after a trap). The runtime makes an
// instance of the default export per request, so a subclass paid them for
// every kept document too; here only a request for the wasm makes one.
const Entry = {
  async fetch(request, bindings, ctx) {
    return served(request) ?? keep(request, await new Worker(ctx, bindings).fetch(request));
  },
};

// The entry point is the one above, unless the worker has a `FAULTS`
// binding: only the tests give it one (tests/helpers.mjs
// `startWorker({ faults })`), to make a chosen binding fail on demand.
// Without it (in every deployment, where no wrangler.toml declares it) no
// wrapper is made and no request pays anything for it.
export default env.FAULTS ? withFaults(Entry) : Entry;

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

// Fault injection, for tests only (see the default export above).

/** The worker with every KV and Durable Object binding it is given wrapped by [`faulty`]. */
function withFaults(Entry) {
  return { fetch: (request, bindings, ctx) => Entry.fetch(request, faultyEnv(bindings), ctx) };
}

/**
 * Asks the test (`FAULTS`, a service binding to a Node function) whether
 * this call to `binding` fails, telling it what the call is: `op` (the KV
 * method, or `run` / `fetch` for an object), `key` (the KV key or list
 * prefix, or the object's name or id) and `call` (an object's operation).
 * Throws as an unreachable platform does: an Error that is not ours.
 */
async function reach(faults, binding, op, key, call) {
  const res = await faults.fetch("http://faults/", { method: "POST", body: JSON.stringify({ binding, op, key, call }) });
  if ((await res.text()) === "down") throw new Error(`${binding} ${op}: network connection lost`);
}

/** `bindings` with its KV namespaces and Durable Object namespaces wrapped, the rest as it is. */
function faultyEnv(bindings) {
  const faults = bindings.FAULTS;
  const wrapped = new Map();
  return new Proxy(bindings, {
    get(target, name) {
      const b = Reflect.get(target, name);
      if (typeof name !== "string" || b === null || typeof b !== "object") return b;
      if (!wrapped.has(name)) wrapped.set(name, faulty(b, name, faults));
      return wrapped.get(name);
    },
  });
}

function faulty(binding, name, faults) {
  switch (binding.constructor?.name) {
    case "KvNamespace": {
      // worker-rs reads these five methods off the namespace and calls them.
      const method = (op) => async (...args) => {
        await reach(faults, name, op, typeof args[0] === "string" ? args[0] : args[0]?.prefix ?? "");
        return binding[op](...args);
      };
      const ops = ["get", "getWithMetadata", "put", "delete", "list"];
      return Object.fromEntries(ops.map((op) => [op, method(op)]));
    }
    case "DurableObjectNamespace":
      return new DurableObjectNamespace(binding, name, faults);
    default:
      return binding;
  }
}

/**
 * A Durable Object namespace whose stubs fail on demand. Its class has the
 * platform's name because worker-rs's `env.durable_object()` checks the
 * binding's constructor name; ids are the real ones.
 */
class DurableObjectNamespace {
  #ns;
  #name;
  #faults;
  constructor(ns, name, faults) {
    this.#ns = ns;
    this.#name = name;
    this.#faults = faults;
  }
  idFromName(...args) {
    return this.#ns.idFromName(...args);
  }
  idFromString(...args) {
    return this.#ns.idFromString(...args);
  }
  newUniqueId(...args) {
    return this.#ns.newUniqueId(...args);
  }
  get(id, ...args) {
    return this.#stub(this.#ns.get(id, ...args), id.name ?? id.toString());
  }
  getByName(name, ...args) {
    return this.#stub(this.#ns.getByName(name, ...args), name);
  }
  /** The stub's two ways in: RPC `run` (our JavaScript objects) and `fetch` (the KeyRing). */
  #stub(stub, key) {
    const [faults, binding] = [this.#faults, this.#name];
    return {
      async run(call) {
        await reach(faults, binding, "run", key, call);
        return stub.run(call);
      },
      async fetch(input, init) {
        await reach(faults, binding, "fetch", key, String(input?.url ?? input));
        return stub.fetch(input, init);
      },
    };
  }
}
