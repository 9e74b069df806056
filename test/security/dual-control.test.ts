import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { totpCode } from "../../lib/auth/totp.ts";
import {
  adminToken,
  approveAs,
  approverToken,
  createAdminOutOfBand,
  loginAs,
  loginWithCode,
  type OutOfBandAdmin,
  registerUser,
  requestRolesRaw,
  stackTable,
  tokenWithRoles,
} from "../support/auth.ts";
import { call } from "../support/http.ts";
import { balanceOf, deposit } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * Dual control over HTTP (issue 16; API.md "Privileged access: MFA, step-up and dual
 * control"; SECURITY.md maps PCI DSS v4 6.5.4 / 7.2 separation of duties here): a
 * deposit of at least MICROPAY_DUAL_CONTROL_MINOR and a grant of admin or auditor
 * answer 202 and change nothing; the requester cannot approve (403 same_approver); a
 * second admin, made out of band with `npm run admin:create` (audited), can, once; an
 * approval expires (a stack of its own with MICROPAY_APPROVAL_TTL_SECONDS=1); no admin
 * deposits into an account it owns (403 self_dealing), nor approves such a deposit.
 */
const THRESHOLD = 1_000_000;
const table = stackTable(inject("stack"));
let requester: string;
let second: OutOfBandAdmin;
let approver: string;

afterAll(() => table.destroy());

beforeAll(async () => {
  requester = await adminToken();
  second = await createAdminOutOfBand(undefined, "second-admin");
  // An admin from admin:create is enrolled in TOTP: its login needs the code.
  approver = (
    await loginWithCode(second.email, second.password, totpCode(second.totpSecret, Date.now()))
  ).accessToken;
}, 60_000);

type Pending = { approvalId: string; status: string; expiresAt: string };
type ApprovalView = { id: string; status: string; kind: string; payload: Record<string, unknown> };

const depositRaw = (token: string, accountId: string, amount: number, key?: string) =>
  call<Pending & { code?: string }>("POST", `/v1/accounts/${accountId}/deposits`, {
    token,
    body: { amount, reference: "wire 7731" },
    headers: { "Idempotency-Key": key ?? crypto.randomUUID() },
  });

const audit = (approvalId: string) =>
  table.auditEvents(
    (e) =>
      (e as unknown as { targets?: Record<string, string> }).targets?.approvalId === approvalId,
  );

describe("npm run admin:create (the out-of-band way to add an admin)", () => {
  it("is audited: user.admin_created names the new admin", async () => {
    expect(second.output).toMatch(/created admin usr_/);
    const events = await table.auditEvents(
      (e) =>
        e.action === "user.admin_created" &&
        (e as unknown as { targets: Record<string, string> }).targets.userId === second.userId,
    );
    expect(events).toHaveLength(1);
    expect(decodeJwt(approver)).toMatchObject({ sub: second.userId, amr: ["pwd", "otp"] });
  });
});

describe("a large deposit needs a second admin", () => {
  it("answers 202 and moves nothing; the requester cannot approve; a second admin can, once", async () => {
    const alice = await registerUser();
    const asked = await depositRaw(requester, alice.account.id, THRESHOLD);
    expect(asked.status).toBe(202);
    expect(asked.json).toMatchObject({ status: "pending_approval" });
    const { approvalId } = asked.json;
    expect(approvalId).toMatch(/^apr_/);
    expect(await balanceOf({ token: requester }, alice.account.id)).toBe(0);

    const pending = await call<{ data: ApprovalView[] }>(
      "GET",
      "/v1/admin/approvals?status=pending&limit=100",
      { token: approver },
    );
    expect(pending.status).toBe(200);
    expect(pending.json.data.find((a) => a.id === approvalId)).toMatchObject({
      kind: "deposit",
      status: "pending",
      payload: { kind: "deposit", accountId: alice.account.id, amount: THRESHOLD },
    });

    const self = await approveAs(requester, approvalId);
    expect(self.status).toBe(403);
    expect(self.json.code).toBe("same_approver");
    expect(await balanceOf({ token: requester }, alice.account.id)).toBe(0);

    const ok = await approveAs(approver, approvalId);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: "approved", result: { kind: "deposit" } });
    expect(await balanceOf({ token: requester }, alice.account.id)).toBe(THRESHOLD);

    const twice = await approveAs(approver, approvalId);
    expect(twice.status).toBe(409);
    expect(twice.json.code).toBe("approval_not_pending");
    expect(await balanceOf({ token: requester }, alice.account.id)).toBe(THRESHOLD);

    // Each step is an audit event; the deposit's own record names the approval.
    const actions = (await audit(approvalId)).map((e) => e.action).sort();
    expect(actions).toEqual(
      [
        "approval.approve_refused",
        "approval.approved",
        "approval.requested",
        "deposit.created",
      ].sort(),
    );
    const listed = await call<{ data: ApprovalView[] }>(
      "GET",
      "/v1/admin/approvals?status=approved&limit=100",
      { token: requester },
    );
    expect(listed.json.data.some((a) => a.id === approvalId)).toBe(true);
  });

  it("a deposit below the threshold is made at once (201)", async () => {
    const bob = await registerUser();
    const res = await depositRaw(requester, bob.account.id, THRESHOLD - 1);
    expect(res.status).toBe(201);
    expect(await balanceOf({ token: requester }, bob.account.id)).toBe(THRESHOLD - 1);
  });

  it("a retry with the same Idempotency-Key replays the 202: one approval", async () => {
    const carol = await registerUser();
    const key = crypto.randomUUID();
    const first = await depositRaw(requester, carol.account.id, 2 * THRESHOLD, key);
    const again = await depositRaw(requester, carol.account.id, 2 * THRESHOLD, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json.approvalId).toBe(first.json.approvalId);
  });

  it("a rejected approval is never carried out", async () => {
    const dave = await registerUser();
    const asked = await depositRaw(requester, dave.account.id, THRESHOLD);
    const { approvalId } = asked.json;
    const rejected = await call<ApprovalView>("POST", `/v1/admin/approvals/${approvalId}/reject`, {
      token: approver,
    });
    expect(rejected.status).toBe(200);
    expect(rejected.json.status).toBe("rejected");
    const late = await approveAs(approver, approvalId);
    expect(late.status).toBe(409);
    expect(late.json.code).toBe("approval_not_pending");
    expect(await balanceOf({ token: requester }, dave.account.id)).toBe(0);
  });

  it("approvals are for admins only", async () => {
    const eve = await registerUser();
    const res = await call("GET", "/v1/admin/approvals", { token: eve.accessToken });
    expect(res.status).toBe(403);
  });
});

describe("self-dealing", () => {
  it("no admin deposits into an account it owns (403), and none approves a deposit into its own", async () => {
    const owner = await tokenWithRoles(["customer", "admin"]);
    const small = await deposit({ token: owner.accessToken }, owner.account.id, 100);
    expect(small.status).toBe(403);
    expect((small.json as { code: string }).code).toBe("self_dealing");
    const large = await depositRaw(owner.accessToken, owner.account.id, THRESHOLD);
    expect(large.status).toBe(403);
    expect(large.json.code).toBe("self_dealing");

    // Another admin asks; the owner may not approve; a third admin may.
    const asked = await depositRaw(requester, owner.account.id, THRESHOLD);
    expect(asked.status).toBe(202);
    const byOwner = await approveAs(owner.accessToken, asked.json.approvalId);
    expect(byOwner.status).toBe(403);
    expect(byOwner.json.code).toBe("self_dealing");
    expect(await balanceOf({ token: requester }, owner.account.id)).toBe(0);
    const ok = await approveAs(approver, asked.json.approvalId);
    expect(ok.status).toBe(200);
    expect(await balanceOf({ token: requester }, owner.account.id)).toBe(THRESHOLD);
  });
});

describe("granting admin or auditor needs a second admin", () => {
  it.each([["admin"], ["auditor"]] as const)(
    "a grant of %s: 202, nothing changes; approved: the role is there",
    async (role) => {
      const u = await registerUser();
      const asked = await requestRolesRaw(u.user.id, ["customer", role]);
      expect(asked.status).toBe(202);
      expect(asked.json.status).toBe("pending_approval");
      const approvalId = String(asked.json.approvalId);
      expect((await call("GET", "/v1/me", { token: u.accessToken })).json).toMatchObject({
        roles: ["customer"],
      });
      const self = await approveAs(requester, approvalId);
      expect(self.status).toBe(403);
      expect(self.json.code).toBe("same_approver");

      const ok = await approveAs(approver, approvalId);
      expect(ok.status).toBe(200);
      expect(ok.json.result).toMatchObject({ id: u.user.id, roles: ["customer", role] });
      // The new role reaches the user's next login (its sessions were revoked).
      const fresh = await loginAs(u.email, u.password);
      expect(decodeJwt(fresh.accessToken).roles).toEqual(["customer", role]);
      const changed = (await audit(approvalId)).find((e) => e.action === "user.roles_changed");
      expect(changed).toBeDefined();
    },
  );

  it("a change that grants neither happens at once (200)", async () => {
    const u = await registerUser();
    const res = await requestRolesRaw(u.user.id, ["customer", "merchant"]);
    expect(res.status).toBe(200);
  });
});

describe("approvals expire (MICROPAY_APPROVAL_TTL_SECONDS=1)", () => {
  let stack: SpawnedStack;
  let base: string;
  beforeAll(async () => {
    stack = await spawnStack({ MICROPAY_APPROVAL_TTL_SECONDS: "1" });
    base = stack.info.apiUrl;
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("an expired approval cannot be approved (409 approval_expired) and is listed as expired", async () => {
    const token = await adminToken(base);
    const other = await approverToken(base);
    const u = await registerUser({ base });
    const asked = await call<Pending>("POST", `/v1/accounts/${u.account.id}/deposits`, {
      base,
      token,
      body: { amount: THRESHOLD, reference: "late" },
      headers: { "Idempotency-Key": crypto.randomUUID() },
    });
    expect(asked.status).toBe(202);
    const { approvalId } = asked.json;
    // Wait on the condition: the approval listed as expired.
    const deadline = Date.now() + 15_000;
    let expired = false;
    while (!expired && Date.now() < deadline) {
      const list = await call<{ data: ApprovalView[] }>(
        "GET",
        "/v1/admin/approvals?status=expired",
        {
          base,
          token: other,
        },
      );
      expired = list.json.data.some((a) => a.id === approvalId);
      if (!expired) await new Promise((r) => setTimeout(r, 200));
    }
    expect(expired).toBe(true);
    const late = await approveAs(other, approvalId, base);
    expect(late.status).toBe(409);
    expect(late.json.code).toBe("approval_expired");
    expect(await balanceOf({ base, token }, u.account.id)).toBe(0);
  }, 120_000);
});
