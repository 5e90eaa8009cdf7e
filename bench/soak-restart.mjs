// The restart's own checks (bench/soak.mjs): tokens issued in the last
// moment before the runtime is killed, checked once it is back, and the
// final audit of every grant the clients still hold.
import {
  expectRevoked, introspect, keep, mintCode, redeem, refreshCall, replayCode, rotate, userinfo,
} from "./soak-actions.mjs";

const PENDING = 8;    // codes issued and not yet redeemed when the runtime dies
const SPENT = 4;      // codes redeemed just before
const GRANTS = 8;     // grants rotated once just before (a current and a superseded token each)
const BEFORE = "(issued just before the restart) ";

const invalidGrant = (r) => r.status === 400 && /"error"\s*:\s*"invalid_grant"/.test(r.text);

/** Tokens issued moments before the restart, through `conn`'s live session. */
export async function probesBefore(ctx, conn) {
  const probes = { pending: [], spent: [], grants: [] };
  for (let i = 0; i < PENDING; i++) {
    const code = await mintCode(ctx, conn.jar);
    if (code) probes.pending.push(code);
  }
  for (let i = 0; i < SPENT; i++) {
    const code = await mintCode(ctx, conn.jar);
    const g = code && await redeem(ctx, conn, code, { hold: false });
    if (g) probes.spent.push({ code, g });
  }
  for (let i = 0; i < GRANTS; i++) {
    const code = await mintCode(ctx, conn.jar);
    const g = code && await redeem(ctx, conn, code, { hold: false });
    if (g && await rotate(ctx, g) === g) probes.grants.push(g);
  }
  return probes;
}

/**
 * After the restart: each pending code redeems exactly once; each spent one
 * stays spent (and its replay revokes its grant); each grant's access token
 * is valid; half the grants rotate on (and stay held, for the final audit),
 * the other half see their superseded token refused and the grant revoked.
 */
export async function probesAfter(ctx, conn, probes) {
  for (const code of probes.pending) {
    const g = await redeem(ctx, conn, code, { hold: false });
    if (!ctx.expect(`${BEFORE}a pending code redeems after the restart`, g, code.code.slice(0, 40))) continue;
    await replayCode(ctx, code, g, BEFORE);
  }
  for (const { code, g } of probes.spent) await replayCode(ctx, code, g, `${BEFORE}redeemed: `);
  for (const [i, g] of probes.grants.entries()) {
    const ui = await userinfo(ctx, g.at);
    ctx.expect(`${BEFORE}an access token is valid after the restart`, ui.status === 200, `${ui.status} ${ui.text.slice(0, 200)}`);
    if (i % 2 === 0) {
      if (ctx.expect(`${BEFORE}a refresh token rotates after the restart`, await rotate(ctx, g) === g, g.gid)) keep(ctx, conn, g);
      continue;
    }
    const r = await refreshCall(ctx, g.superseded.at(-1));
    ctx.expect(`${BEFORE}a superseded refresh token stays refused`, invalidGrant(r), `${r.status} ${r.text.slice(0, 200)}`);
    await expectRevoked(ctx, `${BEFORE}its reuse revokes the grant`, g);
  }
}

/**
 * Every grant the clients hold at the end (each connection's live ones and
 * the sample of retired ones), `CONNECTIONS` at a time: its access token
 * still valid, its refresh token still rotating, its last superseded token
 * still dead. Returns how many were audited and how many of them were
 * issued before the restart.
 */
export async function audit(ctx, grants, { connections, killedAt }) {
  const queue = [...grants];
  const one = async (g) => {
    const ui = await userinfo(ctx, g.at);
    ctx.expect("audit: a held grant's access token is valid", ui.status === 200, `${g.gid} ${ui.status} ${ui.text.slice(0, 200)}`);
    const old = g.superseded.at(-1);
    if (old) {
      const info = await introspect(ctx, ctx.client, old);
      ctx.expect("audit: its last superseded refresh token introspects inactive", info?.active === false, JSON.stringify(info));
    }
    ctx.expect("audit: a held grant's refresh token rotates", await rotate(ctx, g) === g, g.gid);
  };
  await Promise.all(Array.from({ length: connections }, async () => {
    for (let g; (g = queue.shift());) await one(g);
  }));
  const before = killedAt ? grants.filter((g) => g.born < killedAt) : [];
  return {
    grants: grants.length,
    issued_before_restart: before.length,
    issued_in_the_last_5s_before_restart: before.filter((g) => g.born >= killedAt - 5000).length,
  };
}
