// The soak's HTTP side (bench/soak.mjs): each call is one logical request
// that a real client retries through a restart, over node's own fetch with
// keep-alive. Every attempt is counted by kind of request and by outcome (a
// status, or the connection error that took its place), with its time, so
// the run can say what failed in the restart window and what failed outside.

/** A connection refused before anything was sent: the request cannot have been applied. */
export const REFUSED = "ECONNREFUSED";

const TIMEOUT_MS = 30_000;     // one attempt; a worker answers in milliseconds
const RETRY_FOR_MS = 60_000;   // then the client gives up (longer than any restart here)
const RETRY_DELAY_MS = 100;    // a client's backoff between attempts

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What took a response's place: the socket error's code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET…), or a timeout. */
export function errorKind(e) {
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timeout";
  const c = e?.cause;
  if (c?.code === "UND_ERR_SOCKET") return `UND_ERR_SOCKET (${c.message})`;
  return c?.code ?? c?.name ?? e?.code ?? e?.name ?? "error";
}

/** Thrown when a call gave up (or must not be retried): `ambiguous` = it may have been applied. */
export class Lost extends Error {
  constructor(kind, what, ambiguous) {
    super(`${kind}: ${what}`);
    this.what = what;
    this.ambiguous = ambiguous;
  }
}

export class Http {
  /** `url`: the worker's origin; `ledger` ({ ok, fail }): where every answer is checked for 5xx. */
  constructor(url, ledger) {
    this.url = url;
    this.ledger = ledger;
    this.kinds = new Map();      // kind → { requests, attempts, outcomes: { "200": n, ECONNRESET: n } }
    this.failedAttempts = [];    // { t, kind, what, id } (id: which call)
    this.calls = 0;
    this.recovered = [];         // { kind, retried, waited_ms }: calls answered after failed attempts
    this.firstAnswer = null;     // time of the first answer since the restart controller reset it
  }

  #tally(kind, outcome, first) {
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, k = { requests: 0, attempts: 0, outcomes: {} });
    if (first) k.requests++;
    k.attempts++;
    k.outcomes[outcome] = (k.outcomes[outcome] ?? 0) + 1;
  }

  /**
   * One request. Connection errors and 5xx answers are retried (after
   * RETRY_DELAY_MS, for up to RETRY_FOR_MS) unless `retry` is false, as for
   * a form a person would not post twice. Returns { status, headers, text,
   * ambiguous, retried }: `ambiguous` when an earlier attempt may have been
   * applied (anything but a refused connection, or a 5xx).
   */
  async call(kind, path, init = {}, { retry = true } = {}) {
    const start = Date.now();
    const id = ++this.calls;
    let ambiguous = false;
    let retried = 0;
    for (;;) {
      let what;
      try {
        const res = await fetch(this.url + path, { ...init, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
        const text = await res.text();
        this.#tally(kind, String(res.status), retried === 0);
        if (res.status < 500) {
          this.ledger.ok("no 5xx answer");
          this.firstAnswer ??= Date.now();
          if (retried) this.recovered.push({ kind, retried, waited_ms: Date.now() - start });
          return { status: res.status, headers: res.headers, text, ambiguous, retried };
        }
        this.ledger.fail("no 5xx answer", `${kind} ${path.split("?")[0]}: ${res.status} ${text.slice(0, 200)}`);
        what = `HTTP ${res.status}`;
      } catch (e) {
        // Only the network's failures are a client's to retry; anything else is the soak's own bug.
        if (e?.message !== "fetch failed" && e?.name !== "TimeoutError") throw e;
        what = errorKind(e);
        this.#tally(kind, what, retried === 0);
      }
      this.failedAttempts.push({ t: Date.now(), kind, what, id });
      if (what !== REFUSED) ambiguous = true;
      if (!retry || Date.now() - start > RETRY_FOR_MS) throw new Lost(kind, what, ambiguous);
      retried++;
      await sleep(RETRY_DELAY_MS);
    }
  }
}
