import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type ApprovalDeps,
  approve,
  listApprovals,
  reject,
  requestDeposit,
  requestRoles,
} from "../../lib/auth/approvals.ts";
import { hashPassword, needsRehash, verifyPassword } from "../../lib/auth/passwords.ts";
import { createAdmin, register } from "../../lib/auth/service.ts";
import { parseConfig, resetConfigForTests } from "../../lib/config.ts";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";
import { AlreadyAnswered, type IdempotencyClaim } from "../../lib/idempotency.ts";
import { createAccount, ledgerDeps, setAccountStatus } from "../../lib/ledger/service.ts";
import type { Role } from "../../lib/routes/types.ts";
import { decodeCursor, encodeCursor, setCursorKey } from "../../lib/store/cursor.ts";
import { outcome } from "../support/ledger-unit.ts";
import { MemoryApprovalStore } from "../support/memory-approval-store.ts";
import { anonymous, as, MemoryIdentityStore } from "../support/memory-identity-store.ts";
import { MemoryLedgerStore } from "../support/memory-ledger-store.ts";

/**
 * Dual control (issue 16; API.md "Privileged access: MFA, step-up and dual control") on
 * lib/auth/approvals.ts with in-memory stores and a controlled clock: large deposits and
 * grants of admin/auditor become approvals that change nothing; only a different admin
 * carries them out, once, before they expire; no admin deposits into its own account.
 */
const THRESHOLD = 1_000_000;
const TTL = 60;

let approvals: MemoryApprovalStore;
let ledger: MemoryLedgerStore;
let identity: MemoryIdentityStore;
let clock: number;
let deps: ApprovalDeps;

beforeAll(() => {
  process.env.MICROPAY_BCRYPT_COST = "10";
  resetConfigForTests();
  setCursorKey("approvals unit test cursor key");
});

beforeEach(() => {
  approvals = new MemoryApprovalStore();
  ledger = new MemoryLedgerStore();
  identity = new MemoryIdentityStore();
  ledger.approvals = approvals;
  identity.approvals = approvals;
  clock = Date.parse("2026-03-01T12:00:00Z");
  const settings = parseConfig({
    MICROPAY_DUAL_CONTROL_MINOR: String(THRESHOLD),
    MICROPAY_APPROVAL_TTL_SECONDS: String(TTL),
  });
  deps = {
    approvals,
    ledger: ledgerDeps(ledger),
    identity: {
      store: identity,
      passwords: { hash: hashPassword, verify: verifyPassword, needsRehash },
      tokens: { issue: async () => ({ token: "at", expiresIn: 900 }) },
      cursors: {
        encode: async (scope, position) => encodeCursor(scope, position),
        decode: async (scope, cursor) => decodeCursor(scope, cursor),
      },
      secrets: localSecretBox(Buffer.alloc(32, 7)),
      now: () => clock,
      settings: () => settings,
    },
    now: () => clock,
    settings: () => settings,
  };
});

let n = 0;
async function admin() {
  const made = await createAdmin(
    anonymous,
    { email: `admin${++n}@example.com`, password: "correct horse battery staple" },
    deps.identity,
  );
  return as(made.userId, ["admin"]);
}

async function customerAccount(ownerId = `usr_customer${++n}`) {
  return createAccount(as(ownerId, ["customer"]), { currency: "USD" }, deps.ledger);
}

const balance = (id: string) => ledger.accounts.get(id)?.balance;
const deposit = (amount: number) => ({ amount, reference: "wire" });

describe("deposits", () => {
  it("below the threshold: the deposit at once (201); at it: an approval (202) that moves nothing", async () => {
    const a = await admin();
    const acc = await customerAccount();
    const small = await requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD - 1) }, deps);
    expect(small.status).toBe(201);
    expect(balance(acc.id)).toBe(THRESHOLD - 1);
    const posts = ledger.posts;

    const big = await requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD) }, deps);
    expect(big).toMatchObject({ status: 202, body: { status: "pending_approval" } });
    expect(ledger.posts).toBe(posts);
    expect(balance(acc.id)).toBe(THRESHOLD - 1);
    const id = big.status === 202 ? big.body.approvalId : "";
    const list = await listApprovals(a, { status: "pending", limit: 20 }, deps);
    expect(list.data.map((x) => [x.id, x.kind, x.status, x.requestedBy])).toEqual([
      [id, "deposit", "pending", a.principal.userId],
    ]);
    expect(list.data[0]?.payload).toEqual({
      kind: "deposit",
      accountId: acc.id,
      amount: THRESHOLD,
      currency: "USD",
      reference: "wire",
    });
    expect(approvals.audit.map((e) => [e.action, e.targets.approvalId])).toEqual([
      ["approval.requested", id],
    ]);
  });

  it("the requester cannot approve (403 same_approver); a second admin carries it out once", async () => {
    const a = await admin();
    const b = await admin();
    const acc = await customerAccount();
    const req = await requestDeposit(a, { accountId: acc.id, ...deposit(5_000_000) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    const approvalId = req.body.approvalId;

    expect(await outcome(approve(a, { approvalId }, deps))).toBe("403 same_approver");
    expect(balance(acc.id)).toBe(0);
    expect(approvals.items.get(approvalId)?.status).toBe("pending");

    const done = await approve(b, { approvalId }, deps);
    expect(done).toMatchObject({ status: "approved", decidedBy: b.principal.userId });
    expect(done.result).toMatchObject({ kind: "deposit", amount: 5_000_000, accountId: acc.id });
    expect(balance(acc.id)).toBe(5_000_000);
    const created = ledger.audit.find((e) => e.action === "deposit.created");
    expect(created?.targets.approvalId).toBe(approvalId);
    expect(created?.actor.userId).toBe(b.principal.userId);
    expect(approvals.audit.map((e) => e.action)).toEqual([
      "approval.requested",
      "approval.approved",
    ]);

    expect(await outcome(approve(b, { approvalId }, deps))).toBe("409 approval_not_pending");
    expect(await outcome(reject(b, { approvalId }, deps))).toBe("409 approval_not_pending");
    expect(balance(acc.id)).toBe(5_000_000);
  });

  it("two admins approving at once: exactly one carries it out", async () => {
    const a = await admin();
    const [b, c] = [await admin(), await admin()];
    const acc = await customerAccount();
    const req = await requestDeposit(a, { accountId: acc.id, ...deposit(2_000_000) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    const results = await Promise.all(
      [b, c].map((x) => outcome(approve(x, { approvalId: req.body.approvalId }, deps))),
    );
    expect(results.sort()).toEqual(["409 approval_not_pending", "ok"]);
    expect(balance(acc.id)).toBe(2_000_000);
    expect(ledger.transfers.size).toBe(1);
  });

  it("expires after MICROPAY_APPROVAL_TTL_SECONDS: 409 approval_expired, listed as expired", async () => {
    const a = await admin();
    const b = await admin();
    const acc = await customerAccount();
    const req = await requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    clock += TTL * 1000;
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe(
      "409 approval_expired",
    );
    expect(balance(acc.id)).toBe(0);
    const expired = await listApprovals(b, { status: "expired", limit: 20 }, deps);
    expect(expired.data.map((x) => x.id)).toEqual([req.body.approvalId]);
    expect((await listApprovals(b, { status: "pending", limit: 20 }, deps)).data).toEqual([]);
  });

  it("no admin deposits into an account it owns, small or large (403 self_dealing)", async () => {
    const a = await admin();
    const own = await customerAccount(a.principal.userId);
    for (const amount of [10, THRESHOLD]) {
      expect(
        await outcome(requestDeposit(a, { accountId: own.id, ...deposit(amount) }, deps)),
      ).toBe("403 self_dealing");
    }
    expect(balance(own.id)).toBe(0);
    expect(approvals.items.size).toBe(0);
  });

  it("the approver may not own the account either (403 self_dealing); it stays pending", async () => {
    const a = await admin();
    const b = await admin();
    const bs = await customerAccount(b.principal.userId);
    const req = await requestDeposit(a, { accountId: bs.id, ...deposit(THRESHOLD) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe(
      "403 self_dealing",
    );
    expect(balance(bs.id)).toBe(0);
    expect(approvals.items.get(req.body.approvalId)?.status).toBe("pending");
  });

  it("a refused deposit (frozen account) leaves the approval pending", async () => {
    const a = await admin();
    const b = await admin();
    const acc = await customerAccount();
    const req = await requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    await setAccountStatus(a, { accountId: acc.id, status: "frozen" }, deps.ledger);
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe(
      "409 account_frozen",
    );
    expect(approvals.items.get(req.body.approvalId)?.status).toBe("pending");
    // Asked while frozen: refused at once, no approval.
    expect(
      await outcome(requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD) }, deps)),
    ).toBe("409 account_frozen");
    expect(approvals.items.size).toBe(1);
    await setAccountStatus(a, { accountId: acc.id, status: "active" }, deps.ledger);
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe("ok");
    expect(balance(acc.id)).toBe(THRESHOLD);
  });

  it("a rejected approval is never carried out", async () => {
    const a = await admin();
    const b = await admin();
    const acc = await customerAccount();
    const req = await requestDeposit(a, { accountId: acc.id, ...deposit(THRESHOLD) }, deps);
    if (req.status !== 202) throw new Error("expected an approval");
    const rejected = await reject(b, { approvalId: req.body.approvalId }, deps);
    expect(rejected).toMatchObject({ status: "rejected", decidedBy: b.principal.userId });
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe(
      "409 approval_not_pending",
    );
    expect(balance(acc.id)).toBe(0);
    expect(approvals.audit.map((e) => e.action)).toEqual([
      "approval.requested",
      "approval.rejected",
    ]);
  });

  it("under an Idempotency-Key the 202 is the key's answer: a retry replays it, no second approval", async () => {
    const a = await admin();
    const acc = await customerAccount();
    const claim: IdempotencyClaim = {
      scope: a.principal.userId,
      key: "k1",
      fingerprint: "f1",
      routeId: "deposits-create",
      status: 201,
    };
    const first = await requestDeposit(
      { ...a, idempotency: claim },
      { accountId: acc.id, ...deposit(THRESHOLD) },
      deps,
    );
    const error = await requestDeposit(
      { ...a, idempotency: { ...claim } },
      { accountId: acc.id, ...deposit(THRESHOLD) },
      deps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyAnswered);
    const answer = (error as AlreadyAnswered).answer;
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toEqual(first.body);
    expect(approvals.items.size).toBe(1);
  });
});

describe("role grants", () => {
  async function customerUser() {
    const { user } = await register(
      anonymous,
      { email: `c${++n}@example.com`, password: "correct horse battery staple" },
      deps.identity,
    );
    return user.id;
  }
  const roles = (id: string) => identity.users.get(id)?.roles;

  it.each([["admin"], ["auditor"]] as const)(
    "granting %s is an approval another admin carries out",
    async (role) => {
      const a = await admin();
      const b = await admin();
      const u = await customerUser();
      const req = await requestRoles(a, { userId: u, roles: ["customer", role] }, deps);
      expect(req).toMatchObject({ status: 202, body: { status: "pending_approval" } });
      expect(roles(u)).toEqual(["customer"]);
      if (req.status !== 202) throw new Error("expected an approval");
      expect(await outcome(approve(a, { approvalId: req.body.approvalId }, deps))).toBe(
        "403 same_approver",
      );
      const done = await approve(b, { approvalId: req.body.approvalId }, deps);
      expect(done.result).toMatchObject({ id: u, roles: ["customer", role] });
      expect(roles(u)).toEqual(["customer", role]);
      const changed = identity.audit.find((e) => e.action === "user.roles_changed");
      expect(changed?.targets).toMatchObject({ userId: u, approvalId: req.body.approvalId });
    },
  );

  it("other role changes happen at once (200), removing admin too", async () => {
    const a = await admin();
    const b = await admin();
    const u = await customerUser();
    const merchant = await requestRoles(a, { userId: u, roles: ["customer", "merchant"] }, deps);
    expect(merchant.status).toBe(200);
    expect(roles(u)).toEqual(["customer", "merchant"]);
    const demote = await requestRoles(a, { userId: b.principal.userId, roles: ["customer"] }, deps);
    expect(demote.status).toBe(200);
    expect(approvals.items.size).toBe(0);
  });

  it("an admin may not approve a grant to itself (403 self_dealing)", async () => {
    const a = await admin();
    const b = await admin();
    const req = await requestRoles(
      a,
      { userId: b.principal.userId, roles: ["admin", "auditor"] as Role[] },
      deps,
    );
    if (req.status !== 202) throw new Error("expected an approval");
    expect(await outcome(approve(b, { approvalId: req.body.approvalId }, deps))).toBe(
      "403 self_dealing",
    );
    expect(roles(b.principal.userId)).toEqual(["admin"]);
  });

  it("an unknown approval is 404", async () => {
    const a = await admin();
    expect(await outcome(approve(a, { approvalId: "apr_01J9Z8T6A1B2C3D4E5F6G7H8JK" }, deps))).toBe(
      "404 not_found",
    );
  });
});
