// The ceiling for a token endpoint that keeps "use once" / "rotate once":
// a module worker that, per request, makes the one Durable Object call such
// an endpoint needs and has the object write once to its storage, then
// answers "ok". Eight objects, used in turn, like the refresh scenario's
// eight chains.
import { DurableObject } from "cloudflare:workers";

export class Slot extends DurableObject {
  async fetch(request) {
    this.ctx.storage.put("value", await request.text());
    return new Response("ok");
  }
}

let next = 0;

export default {
  fetch(request, env) {
    const stub = env.SLOTS.get(env.SLOTS.idFromName(`slot-${next++ % 8}`));
    return stub.fetch("https://slot/", { method: "POST", body: String(Date.now()) });
  },
};
