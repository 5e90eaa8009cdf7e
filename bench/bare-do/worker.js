// The ceiling for a token endpoint that keeps "use once" / "rotate once":
// a module worker that, per request, makes the one Durable Object call such
// an endpoint needs and has the object write once to its storage, then
// answers "ok". `GET /`: eight objects, used in turn, like the refresh
// scenario's eight chains (objects stay in memory). `GET /new`: a new object
// each time, which must be made and given its storage, as a code's object is
// when it is minted (a code exchange meets its object again after workerd
// has evicted it: between the two).
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
    const id = new URL(request.url).pathname === "/new"
      ? env.SLOTS.newUniqueId()
      : env.SLOTS.idFromName(`slot-${next++ % 8}`);
    return env.SLOTS.get(id).fetch("https://slot/", { method: "POST", body: String(Date.now()) });
  },
};
