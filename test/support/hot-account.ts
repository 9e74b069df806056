import { randomUUID } from "node:crypto";
import { adminToken, registerUser } from "./auth.ts";
import { call } from "./http.ts";

/**
 * The hot-account workload (issue 18), shared by test/reliability/hot-account.test.ts
 * and the bench: `clients` concurrent clients, each paying from its own funded account,
 * all into ONE merchant account (with 1 or more balance shards).
 */

export interface Payer {
  readonly id: string;
  readonly token: string;
}

/**
 * `n` registered users with funded accounts (admin deposits: the sharded funding account).
 * The default stays under MICROPAY_DUAL_CONTROL_MINOR's default (1,000,000), so one admin
 * deposits it at once (no second approval); a run pays at most 400 x 100 from one payer.
 */
export async function hotPayers(base: string, n: number, funds = 900_000): Promise<Payer[]> {
  const admin = await adminToken(base);
  const payers: Payer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < n) {
        next++;
        const u = await registerUser({ base });
        const dep = await call("POST", `/v1/accounts/${u.account.id}/deposits`, {
          base,
          token: admin,
          body: { amount: funds, reference: "hot-account funding" },
          headers: { "Idempotency-Key": randomUUID() },
        });
        if (dep.status !== 201) throw new Error(`funding: ${dep.status} ${dep.text}`);
        payers.push({ id: u.account.id, token: u.accessToken });
      }
    }),
  );
  return payers;
}

/** A merchant's account with `shards` balance shards (set by an admin, PATCH balanceShards). */
export async function hotMerchant(base: string, shards: number): Promise<Payer> {
  const u = await registerUser({ base });
  if (shards > 1) {
    const res = await call<{ balanceShards?: number }>(
      "PATCH",
      `/v1/admin/accounts/${u.account.id}`,
      { base, token: await adminToken(base), body: { balanceShards: shards } },
    );
    if (res.status !== 200 || res.json.balanceShards !== shards) {
      throw new Error(`balanceShards: ${res.status} ${res.text}`);
    }
  }
  return { id: u.account.id, token: u.accessToken };
}

export interface HotRun {
  /** Payment requests sent. */
  readonly requests: number;
  readonly succeeded: number;
  /** 503 service_unavailable answers (conflicts or throttling that outlasted the retries). */
  readonly rejected503: number;
  /** Any other answer (none expected). */
  readonly other: number;
  readonly seconds: number;
  /** Succeeded payments per second. */
  readonly goodputPerSecond: number;
}

/** `payments` payments of 1..100 minor units into `merchantId` from `clients` clients. */
export async function hotPayments(
  base: string,
  merchantId: string,
  payers: readonly Payer[],
  opts: { payments: number; clients: number },
): Promise<HotRun> {
  let next = 0;
  let succeeded = 0;
  let rejected503 = 0;
  let other = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      const payer = payers[client % payers.length];
      if (!payer) throw new Error("no payers");
      while (next < opts.payments) {
        next++;
        const res = await call("POST", "/v1/payments", {
          base,
          token: payer.token,
          body: {
            sourceAccountId: payer.id,
            destinationAccountId: merchantId,
            amount: 1 + Math.floor(Math.random() * 100),
            currency: "USD",
          },
          headers: { "Idempotency-Key": randomUUID() },
        });
        if (res.status === 201) succeeded++;
        else if (res.status === 503) rejected503++;
        else other++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: opts.payments,
    succeeded,
    rejected503,
    other,
    seconds,
    goodputPerSecond: succeeded / seconds,
  };
}
