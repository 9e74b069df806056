/**
 * The artifacts tier: the contract test, the README walkthrough and the money and
 * identity smoke suites, run as they are (imported here, so they run in this order,
 * in this file) against a stack whose every function is its synthesized bundle
 * (test/support/global-artifacts-stack.ts). Their `inject("stack")` is that stack.
 * Then, last, IAM proven by use: what each function called while they ran, against
 * the policy its template gives it (local/iam-by-use.ts).
 */
import "../integration/contract.test.ts";
import "../integration/walkthrough.test.ts";
// Money: deposits, payments, refunds, idempotency, pagination; who may move what.
import "../integration/ledger-api.test.ts";
import "../security/money-authz.test.ts";
// Identity: registration, login, tokens, JWKS, admin:create; refresh rotation and reuse,
// logout, admin user lists; every route by every role.
import "../integration/auth-flow.test.ts";
import "../security/auth-sessions.test.ts";
import "../security/auth-role-matrix.test.ts";
// Dual control: approvals listed, approved, rejected (every approvals function driven).
import "../security/dual-control.test.ts";
import { readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { readAssembly } from "../../local/artifacts.ts";
import type { RecordedCall } from "../../local/artifacts-protocol.ts";
import { compareWithPolicy, type Grant } from "../../local/iam-by-use.ts";
import { IAM_EXCEPTIONS, type IamException } from "./iam-exceptions.ts";

describe("IAM proven by use: what each function called against its synthesized policy", () => {
  const stack = inject("stack");
  const artifacts = stack.artifacts;
  if (!artifacts) throw new Error("the artifacts tier's stack is not in artifacts mode");
  const assembly = readAssembly(artifacts.cdkOut);
  const calls = () =>
    JSON.parse(readFileSync(artifacts.callsFile, "utf8")) as Record<string, RecordedCall[]>;
  /** The DynamoDB Local table stands for the template's table (local/artifacts.ts). */
  const tableId = (() => {
    const fn = assembly.functions.find((f) => f.name === "health");
    const ref = (fn?.variables.MICROPAY_TABLE_NAME as { Ref?: string } | undefined)?.Ref;
    if (!ref) throw new Error("health has no MICROPAY_TABLE_NAME reference");
    return ref;
  })();
  const compare = () => compareWithPolicy(assembly, calls(), new Map([[stack.tableName, tableId]]));
  const excuses = (e: IamException, g: Grant) =>
    e.resource === g.resource &&
    e.actions.includes(g.action) &&
    (e.functions === undefined || e.functions.includes(g.fn));

  it("recorded the calls of every function the suites drove, the denials' audit writes included", () => {
    const record = calls();
    // Each of these answered requests above; each made AWS calls of its own.
    for (const fn of [
      "auth-login",
      "auth-refresh",
      "me",
      "payments-create",
      "refunds-create",
      "audit",
    ]) {
      expect(record[fn]?.length ?? 0, fn).toBeGreaterThan(0);
    }
    // A read-only route refused a caller (role matrix) and recorded it under AUDIT#.
    expect(record["accounts-get"]).toContainEqual(
      expect.objectContaining({ action: "PutItem", leadingKey: "AUDIT#" }),
    );
  });

  it("no function called anything its policy does not allow", () => {
    expect(compare().denied).toEqual([]);
  });

  it("every grant is used by a test path, or is an exception with its reason", () => {
    const unexplained = compare()
      .unused.filter((g) => !IAM_EXCEPTIONS.some((e) => excuses(e, g)))
      .map((g) => `${g.fn}: ${g.action} on ${g.resource} (${g.sid})`);
    expect(unexplained).toEqual([]);
  });

  it("every exception still excuses an unused grant for each function it names", () => {
    const { unused } = compare();
    const names = assembly.functions.map((f) => f.name);
    const stale = IAM_EXCEPTIONS.filter((e) => !e.sometimes).flatMap((e) =>
      (e.functions ?? names).flatMap((fn) =>
        e.actions
          .filter(
            (action) =>
              !unused.some((g) => g.fn === fn && g.action === action && g.resource === e.resource),
          )
          .map((action) => `${fn}: ${action} on ${e.resource} is used, or no longer granted`),
      ),
    );
    expect(stale).toEqual([]);
  });
});
