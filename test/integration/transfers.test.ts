import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../lib/ledger/model.ts";
import { runAuditCli, waitForAuditLog } from "../support/audit.ts";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { balanceOf, deposit, expectOk, pay, refund, withdraw } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * Transfers (API.md "Transfers: every movement has an id") on a stack of its own, so
 * that `npm run audit -- verify` judges exactly this file's movements: every movement
 * is one transfer with an id, on both entries, in the answer, in `GET /v1/transfers/{id}`
 * and in its audit record; and verify pairs records with movements by that id alone,
 * so twenty identical withdrawals made at once all reconcile (issue 12).
 */

interface Entry {
  id: string;
  accountId: string;
  transferId?: string;
  kind: string;
  direction: "debit" | "credit";
  amount: number;
  currency: string;
  reference?: string;
  createdAt: string;
}
interface Transfer {
  id: string;
  kind: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: number;
  currency: string;
  paymentId?: string;
  refundId?: string;
  reference?: string;
  createdAt: string;
}
interface Movement extends Transfer {
  accountId: string;
  entries: Entry[];
}

const TRF = /^trf_[0-9A-HJKMNP-TV-Z]{26}$/;
const MISSING = "trf_01J9Z8S5M2N3P4Q5R6S7T8V9WX";

let stack: SpawnedStack;
let base: string;
let admin: string;
let alice: RegisteredUser;
let bob: RegisteredUser;
let stranger: RegisteredUser;
let auditor: RegisteredUser;
let funded: Movement;
let paymentTransferId: string;

const getTransfer = (id: string, token: string) =>
  call<Transfer>("GET", `/v1/transfers/${id}`, { base, token });
const withoutRequestId = (r: ApiResponse) => ({ ...(r.json as object), requestId: "" });

beforeAll(async () => {
  stack = await spawnStack();
  base = stack.info.apiUrl;
  admin = await adminToken(base);
  [alice, bob, stranger, auditor] = await Promise.all([
    registerUser({ base }),
    registerUser({ base }),
    registerUser({ base }),
    tokenWithRoles(["auditor"], { base }),
  ]);
  const res = expectOk(
    "deposit",
    await deposit({ base, token: admin }, alice.account.id, 20_000, "wire 118"),
  );
  funded = res.json as Movement;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe("transfers: every movement has an id", () => {
  it("a deposit answers 201 with its transfer and its two entries, both naming it", async () => {
    const funding = systemAccountId("funding", "USD");
    expect(funded).toMatchObject({
      kind: "deposit",
      accountId: alice.account.id,
      debitAccountId: funding,
      creditAccountId: alice.account.id,
      amount: 20_000,
      currency: "USD",
      reference: "wire 118",
    });
    expect(funded.id).toMatch(TRF);
    expect(funded.entries).toHaveLength(2);
    const [debit, credit] = funded.entries;
    expect(debit).toMatchObject({ accountId: funding, direction: "debit", transferId: funded.id });
    expect(credit).toMatchObject({
      accountId: alice.account.id,
      direction: "credit",
      transferId: funded.id,
    });

    // The statement shows the same entry with the same transfer id.
    const page = await call<{ data: Entry[] }>("GET", `/v1/accounts/${alice.account.id}/entries`, {
      base,
      token: alice.accessToken,
    });
    expect(page.json.data.find((e) => e.id === credit?.id)?.transferId).toBe(funded.id);

    // And the transfer itself, as its owner reads it.
    const got = await getTransfer(funded.id, alice.accessToken);
    expect(got.status).toBe(200);
    const { accountId: _a, entries: _e, ...transfer } = funded;
    expect(got.json).toEqual(transfer);
  });

  it("a withdrawal answers 201 with its transfer to the payout account", async () => {
    const res = expectOk(
      "withdraw",
      await withdraw({ base, token: alice.accessToken }, alice.account.id, 1_000, "to bank"),
    );
    const w = res.json as Movement;
    const payout = systemAccountId("payout", "USD");
    expect(w).toMatchObject({
      kind: "withdrawal",
      accountId: alice.account.id,
      debitAccountId: alice.account.id,
      creditAccountId: payout,
      amount: 1_000,
      reference: "to bank",
    });
    expect(w.id).toMatch(TRF);
    expect(w.id).not.toBe(funded.id);
    expect(w.entries.map((e) => [e.accountId, e.direction, e.transferId])).toEqual([
      [alice.account.id, "debit", w.id],
      [payout, "credit", w.id],
    ]);
  });

  it("payments and refunds name their transfer, which GET /v1/transfers/{id} shows", async () => {
    const p = expectOk(
      "pay",
      await pay(
        { base, token: alice.accessToken },
        {
          sourceAccountId: alice.account.id,
          destinationAccountId: bob.account.id,
          amount: 3_000,
          currency: "USD",
        },
      ),
    ).json as { id: string; transferId: string };
    expect(p.transferId).toMatch(TRF);
    paymentTransferId = p.transferId;
    const pt = await getTransfer(p.transferId, alice.accessToken);
    expect(pt.json).toMatchObject({
      id: p.transferId,
      kind: "payment",
      debitAccountId: alice.account.id,
      creditAccountId: bob.account.id,
      amount: 3_000,
      currency: "USD",
      paymentId: p.id,
    });

    const r = expectOk(
      "refund",
      await refund({ base, token: admin }, p.id, { amount: 500, reason: "one item" }),
    ).json as { id: string; transferId: string };
    expect(r.transferId).toMatch(TRF);
    const rt = await getTransfer(r.transferId, bob.accessToken);
    expect(rt.json).toMatchObject({
      id: r.transferId,
      kind: "refund",
      debitAccountId: bob.account.id,
      creditAccountId: alice.account.id,
      amount: 500,
      paymentId: p.id,
      refundId: r.id,
    });

    // The payment as read later names the same transfer.
    const again = await call<{ transferId: string }>("GET", `/v1/payments/${p.id}`, {
      base,
      token: bob.accessToken,
    });
    expect(again.json.transferId).toBe(p.transferId);
  });

  it("shows a transfer to the owner of either account, admins and auditors; 404 to anyone else", async () => {
    const seen = [alice, bob, auditor].map((u) => u.accessToken).concat(admin);
    const bodies = await Promise.all(seen.map((t) => getTransfer(paymentTransferId, t)));
    for (const res of bodies) expect(res.status).toBe(200);
    expect(new Set(bodies.map((b) => JSON.stringify(b.json))).size).toBe(1);

    const theirs = await getTransfer(paymentTransferId, stranger.accessToken);
    const missing = await getTransfer(MISSING, stranger.accessToken);
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((theirs.json as unknown as { code: string }).code).toBe("not_found");
    expect(withoutRequestId(theirs)).toEqual(withoutRequestId(missing));
    expect((await getTransfer(MISSING, admin)).status).toBe(404);

    // A deposit's other side is a system account: only the customer side's owner sees it.
    expect((await getTransfer(funded.id, bob.accessToken)).status).toBe(404);
  });

  it("twenty identical withdrawals sent at once all commit, each its own transfer", async () => {
    const before = await balanceOf({ base, token: alice.accessToken }, alice.account.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        withdraw({ base, token: alice.accessToken }, alice.account.id, 100, "same payout"),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = results.map((r) => (r.json as Movement).id);
    expect(new Set(ids).size).toBe(20);
    expect(await balanceOf({ base, token: alice.accessToken }, alice.account.id)).toBe(
      before - 2_000,
    );

    // Each has exactly one audit record, naming its transfer in targets.transferId.
    const records = await waitForAuditLog(
      stack.info.auditLog,
      (rs) =>
        ids.every((id) =>
          rs.some((r) => r.action === "withdrawal.created" && r.targets.transferId === id),
        ),
      30_000,
    );
    for (const id of ids) {
      const hits = records.filter((r) => r.targets.transferId === id);
      expect(
        hits.map((r) => [r.action, r.outcome]),
        id,
      ).toEqual([["withdrawal.created", "success"]]);
    }
  });

  it("every movement's audit record names its transfer, and verify reports OK", async () => {
    // deposit, withdrawal, payment, refund, twenty withdrawals.
    const moves = 24;
    const records = await waitForAuditLog(
      stack.info.auditLog,
      (rs) => rs.filter((r) => r.outcome === "success" && r.money).length >= moves,
      30_000,
    );
    const movementRecords = records.filter((r) => r.outcome === "success" && r.money);
    expect(movementRecords).toHaveLength(moves);
    for (const r of movementRecords) expect(r.targets.transferId, r.eventId).toMatch(TRF);
    expect(records.find((r) => r.action === "deposit.created")?.targets.transferId).toBe(funded.id);
    expect(records.find((r) => r.action === "payment.created")?.targets.transferId).toBe(
      paymentTransferId,
    );

    const out = await runAuditCli([
      "verify",
      "--json",
      "--audit-log",
      stack.info.auditLog,
      "--endpoint",
      stack.info.dynamodbEndpoint,
      "--table",
      stack.info.tableName,
    ]);
    const report = JSON.parse(out.stdout) as {
      ok: boolean;
      problems: string[];
      stats: { movements: number };
    };
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.stats.movements).toBe(moves);
    expect(out.code).toBe(0);
  });
});
