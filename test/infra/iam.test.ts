import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { canDeny } from "../../infra/constructs/api.ts";
import { READ_ACTIONS, WRITE_ACTIONS } from "../../infra/constructs/data.ts";
import { newAuditEvent } from "../../lib/audit/events.ts";
import { routes } from "../../lib/routes/index.ts";
import { auditItem } from "../../lib/store/audit-outbox.ts";
import { apiKeyLookupKey, apiKeyOwnerKey, apiKeyUseKey, userKey } from "../../lib/store/keys.ts";
import {
  actionsOf,
  allStatements,
  type Json,
  mentions,
  policyStatements,
  resourcesOf,
  type Statement,
  idOf as stackIdOf,
  synth,
} from "./support.ts";

// Builtin CloudFormation schema validation runs in nag.test.ts; cdk-nag packs run here too.
process.env.CDK_VALIDATION = "false";

let dev: ReturnType<typeof synth>;
const WRITE = new Set<string>(WRITE_ACTIONS);
const TRACING = new Set(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);

beforeAll(() => {
  dev = synth({ stage: "dev" });
});

const idOf = (c: { node: { defaultChild?: unknown } }) => stackIdOf(dev.stack, c);

function fnOf(routeId: string) {
  const fn = dev.stack.api.functions.get(routeId);
  if (!fn) throw new Error(`no function for ${routeId}`);
  return fn;
}

function routeStatements(routeId: string): Statement[] {
  return policyStatements(dev.stack, dev.template, fnOf(routeId).role.policy);
}

/** The only write a read route may hold: PutItem of items whose partition key is `AUDIT#...`. */
const AUDIT_CONDITION = { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] } };
const withoutSid = ({ Sid: _sid, ...rest }: Statement & { Condition?: unknown }) => rest;
function isAuditPut(s: Statement): boolean {
  return isDeepStrictEqual(withoutSid(s), {
    Effect: "Allow",
    Action: "dynamodb:PutItem",
    Resource: { "Fn::GetAtt": [idOf(dev.stack.data.table), "Arn"] },
    Condition: AUDIT_CONDITION,
  });
}
/** The table key's write actions, which that Put needs (the same set the writers hold). */
function isAuditKey(s: Statement): boolean {
  return isDeepStrictEqual(withoutSid(s), {
    Effect: "Allow",
    Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    Resource: { "Fn::GetAtt": [idOf(dev.stack.keys.table), "Arn"] },
  });
}
/**
 * The API-key authentication grant of a route with a `scope` (Data.apiKeyAuthStatements):
 * GetItem of key lookup and user items, UpdateItem of last-use items, the table key.
 */
const API_KEY_READ = {
  "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["APIKEY#*", "USER#*"] },
};
const API_KEY_USE = { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["APIKEYUSE#*"] } };
function isApiKeyRead(s: Statement): boolean {
  return isDeepStrictEqual(withoutSid(s), {
    Effect: "Allow",
    Action: "dynamodb:GetItem",
    Resource: { "Fn::GetAtt": [idOf(dev.stack.data.table), "Arn"] },
    Condition: API_KEY_READ,
  });
}
function isApiKeyUse(s: Statement): boolean {
  return isDeepStrictEqual(withoutSid(s), {
    Effect: "Allow",
    Action: "dynamodb:UpdateItem",
    Resource: { "Fn::GetAtt": [idOf(dev.stack.data.table), "Arn"] },
    Condition: API_KEY_USE,
  });
}
const isApiKeyGrant = (s: Statement) => isApiKeyRead(s) || isApiKeyUse(s);
const TABLE_WRITE =
  /^dynamodb:(PutItem|UpdateItem|DeleteItem|ConditionCheckItem|BatchWriteItem|TransactWriteItems|PartiQL(Insert|Update|Delete))$/;

describe("per-function least privilege (derived from the route table)", () => {
  it("no policy anywhere grants dynamodb:*, Scan, BatchWriteItem or any wildcard action", () => {
    for (const { policyId, statement } of allStatements(dev.template)) {
      for (const action of actionsOf(statement)) {
        expect(action, policyId).not.toMatch(/\*/);
        expect(action, policyId).not.toMatch(/^dynamodb:(Scan|BatchWriteItem|PartiQL)/);
      }
      expect(statement.Effect).toBe("Allow");
    }
  });

  it("there are no inline policies and no AWS managed policies", () => {
    const resources = dev.template.toJSON().Resources as Record<string, Json>;
    for (const [id, r] of Object.entries(resources)) {
      expect(r.Type, id).not.toBe("AWS::IAM::Policy");
      if (r.Type === "AWS::IAM::Role") {
        expect(r.Properties.Policies, id).toBeUndefined();
        for (const arn of r.Properties.ManagedPolicyArns ?? []) {
          expect(JSON.stringify(arn), id).not.toContain("iam::aws:policy");
          expect(arn).toHaveProperty("Ref");
        }
      }
    }
  });

  it("'*' resources are only for X-Ray (and DescribeLogGroups in API Gateway's logging role)", () => {
    for (const { policyId, statement } of allStatements(dev.template)) {
      if (!resourcesOf(statement).includes("*")) continue;
      for (const action of actionsOf(statement)) {
        expect(
          TRACING.has(action) || action === "logs:DescribeLogGroups",
          `${policyId} ${action}`,
        ).toBe(true);
      }
    }
  });

  for (const route of routes) {
    it(`${route.id} (${route.tableAccess}, signing key: ${route.usesSigningKey}) has only what its row declares`, () => {
      const statements = routeStatements(route.id);
      const actions = new Set(statements.flatMap(actionsOf));
      const dynamo = [...actions].filter((a) => a.startsWith("dynamodb:"));
      const tableKeyId = idOf(dev.stack.keys.table);
      const touchesTableKey = statements.some((s) => mentions(s.Resource, tableKeyId));
      if (route.tableAccess === "none") {
        expect(dynamo).toEqual([]);
        expect(touchesTableKey).toBe(false);
      }
      if (route.tableAccess === "read") {
        // Beside the audit grant of a route that can deny (checked below), only reads.
        const plain = statements.filter(
          (s) => !isAuditPut(s) && !isAuditKey(s) && !isApiKeyGrant(s),
        );
        const plainActions = new Set(plain.flatMap(actionsOf));
        for (const a of [...plainActions].filter((x) => x.startsWith("dynamodb:"))) {
          expect([...READ_ACTIONS], a).toContain(a);
        }
        expect([...plainActions].some((a) => WRITE.has(a))).toBe(false);
        expect(plainActions.has("kms:Encrypt") || plainActions.has("kms:GenerateDataKey")).toBe(
          false,
        );
      }
      if (route.tableAccess === "write") {
        expect(dynamo.some((a) => WRITE.has(a))).toBe(true);
      }
      // Beside the audit grant, exactly the row's table actions: item actions on the
      // table, Query on exactly the listed targets, nothing on any other resource.
      const tableId = idOf(dev.stack.data.table);
      const tableArn = { "Fn::GetAtt": [tableId, "Arn"] };
      // A route an API key may call (a `scope`) also has the key grant, and only then.
      expect(statements.filter(isApiKeyRead), route.id).toHaveLength(route.scope ? 1 : 0);
      expect(statements.filter(isApiKeyUse), route.id).toHaveLength(route.scope ? 1 : 0);
      if (route.scope) expect(statements.some(isAuditKey), route.id).toBe(true);
      const granted = statements
        .filter((s) => !isAuditPut(s) && !isApiKeyGrant(s))
        .flatMap((s) =>
          actionsOf(s)
            .filter((a) => a.startsWith("dynamodb:"))
            .flatMap((a) => resourcesOf(s).map((r) => `${a} ${JSON.stringify(r)}`)),
        )
        .sort();
      const target = (t: string) =>
        JSON.stringify(t === "table" ? tableArn : { "Fn::Join": ["", [tableArn, `/index/${t}`]] });
      const declared = [
        ...(route.table?.actions ?? []).map((a) => `dynamodb:${a} ${JSON.stringify(tableArn)}`),
        ...(route.table?.query ?? []).map((t) => `dynamodb:Query ${target(t)}`),
      ].sort();
      expect(granted, route.id).toEqual(declared);
      expect(route.table === undefined, route.id).toBe(route.tableAccess === "none");
      expect(actions.has("dynamodb:DescribeTable")).toBe(false);
      expect(actions.has("secretsmanager:GetSecretValue")).toBe(route.usesSigningKey);
      // Logs: its own log group only.
      const ownLogs = idOf(fnOf(route.id).logGroup);
      for (const s of statements.filter((x) => actionsOf(x).some((a) => a.startsWith("logs:")))) {
        expect(mentions(s.Resource, ownLogs), route.id).toBe(true);
      }
      // Every allowed action is from the expected families.
      for (const a of actions) {
        expect(a, route.id).toMatch(/^(dynamodb|kms|logs|xray|secretsmanager):/);
      }
      // Table actions name the table and its indexes by ARN, never `index/*`.
      for (const s of statements.filter((x) =>
        actionsOf(x).some((a) => a.startsWith("dynamodb:")),
      )) {
        expect(JSON.stringify(s.Resource)).not.toContain("index/*");
        expect(mentions(s.Resource, idOf(dev.stack.data.table))).toBe(true);
      }
    });
  }

  it("the health function can read the table (its GetItem probe), but has no write action", () => {
    const actions = routeStatements("health").flatMap(actionsOf);
    expect(actions).toContain("dynamodb:GetItem");
    expect(actions.filter((a) => WRITE.has(a) || a === "kms:Encrypt")).toEqual([]);
  });

  it("only signing-key routes (and the key generator) can touch the signing key secret or its KMS key", () => {
    const secretId = idOf(dev.stack.signingKey.secret);
    const keyId = idOf(dev.stack.keys.secrets);
    const allowed = new Set(
      routes.filter((r) => r.usesSigningKey).map((r) => idOf(fnOf(r.id).role.policy)),
    );
    allowed.add(idOf(dev.stack.signingKey.generator.role.policy));
    for (const { policyId, statement } of allStatements(dev.template)) {
      if (mentions(statement.Resource, secretId) || mentions(statement.Resource, keyId)) {
        expect(allowed.has(policyId), policyId).toBe(true);
      }
    }
    const generator = policyStatements(
      dev.stack,
      dev.template,
      dev.stack.signingKey.generator.role.policy,
    );
    const genActions = generator.flatMap(actionsOf);
    expect(genActions).toContain("secretsmanager:PutSecretValue");
    expect(genActions).not.toContain("secretsmanager:GetSecretValue");
  });

  it("only the audit function's role can write to the audit log group", () => {
    const auditGroup = idOf(dev.stack.audit.logGroup);
    const auditPolicy = idOf(dev.stack.audit.fn.role.policy);
    let found = false;
    for (const { policyId, statement } of allStatements(dev.template)) {
      const writes = actionsOf(statement).some(
        (a) => a === "logs:PutLogEvents" || a === "logs:CreateLogStream",
      );
      if (!writes) continue;
      if (mentions(statement.Resource, auditGroup)) {
        expect(policyId).toBe(auditPolicy);
        found = true;
      }
      // No other log-writing statement can reach it by wildcard: only the
      // API Gateway execution-log prefix is a pattern, and it cannot match.
      for (const r of resourcesOf(statement)) {
        const text = JSON.stringify(r);
        if (text.includes("*")) expect(text).toContain("API-Gateway-Execution-Logs_*");
      }
    }
    expect(found).toBe(true);
  });

  it("the audit function reads the stream, parks failures, and writes its dedupe markers, nothing else", () => {
    const statements = policyStatements(dev.stack, dev.template, dev.stack.audit.fn.role.policy);
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "sqs:SendMessage",
      ]),
    );
    expect(actions).not.toContain("secretsmanager:GetSecretValue");
    // On the table, only what lib/audit/dedupe-dynamodb.ts calls on its markers.
    const tableArn = { "Fn::GetAtt": [idOf(dev.stack.data.table), "Arn"] };
    const onTable = statements.filter((s) =>
      actionsOf(s).some(
        (a) => a.startsWith("dynamodb:") && !/Stream|Records|ShardIterator/.test(a),
      ),
    );
    expect(onTable.flatMap(actionsOf).sort()).toEqual(
      ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"].sort(),
    );
    for (const s of onTable) expect(resourcesOf(s)).toEqual([tableArn]);
    const sqs = statements.find((s) => actionsOf(s).includes("sqs:SendMessage"));
    expect(sqs?.Resource).toEqual({ "Fn::GetAtt": [idOf(dev.stack.audit.deadLetters), "Arn"] });
  });
});

describe("every route that can deny can write its denial's audit event, and nothing more", () => {
  const denying = routes.filter(canDeny);
  const readOnly = denying.filter((r) => r.tableAccess === "read");

  it("the routes that can deny: every route with a token, plus login and refresh", () => {
    const ids = denying.map((r) => r.id);
    for (const r of routes) {
      if (r.auth !== "none") expect(ids, r.id).toContain(r.id);
    }
    expect(ids).toEqual(expect.arrayContaining(["auth-login", "auth-refresh", "auth-logout"]));
    for (const id of ["health", "jwks", "openapi", "docs", "docs-asset", "auth-register"]) {
      expect(ids, id).not.toContain(id);
    }
    // The read-only ones are the point of the audit grant; the list below is not empty.
    expect(readOnly.map((r) => r.id).sort()).toEqual(
      [
        "accounts-get",
        "accounts-list",
        "admin-approvals-list",
        "admin-users-list",
        "api-keys-list",
        "entries-list",
        "events-get",
        "events-list",
        "me",
        "payments-get",
        "payments-list",
        "refunds-list",
        "transfers-get",
        "webhooks-deliveries",
        "webhooks-get",
        "webhooks-list",
      ].sort(),
    );
  });

  it("the LeadingKeys pattern admits the key putSecurityEvent writes and no other kind", () => {
    const item = auditItem(
      newAuditEvent(
        { userId: null, roles: [], sourceIp: "203.0.113.7", userAgent: "t", requestId: "r" },
        "auth.token_rejected",
        { outcome: "failure", reason: "expired", targets: {} },
      ),
    );
    const [pattern] = AUDIT_CONDITION["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    const glob = new RegExp(`^${(pattern ?? "").replaceAll("*", ".*")}$`);
    expect(item.pk).toMatch(glob);
    for (const other of ["USER#u1", "ACCOUNT#a1", "EMAIL#ada@example.com", "IDEM#k", "XAUDIT#1"]) {
      expect(other).not.toMatch(glob);
    }
  });

  it("the API-key patterns admit the keys authentication reads and writes, and the write no other kind", () => {
    const globOf = (p: string) => new RegExp(`^${p.replaceAll("*", ".*")}$`);
    const reads = API_KEY_READ["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].map(globOf);
    const [write] = API_KEY_USE["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].map(globOf);
    const hash = "0".repeat(64);
    const keyId = "key_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    for (const pk of [apiKeyLookupKey(hash).pk, userKey("usr_x").pk]) {
      expect(
        reads.some((g) => g.test(pk)),
        pk,
      ).toBe(true);
    }
    expect(apiKeyUseKey(keyId).pk).toMatch(write ?? /never/);
    for (const other of [
      apiKeyLookupKey(hash).pk,
      apiKeyOwnerKey("usr_x", keyId).pk,
      "USER#u1",
      "ACC#a1",
      "AUDIT#e",
    ]) {
      expect(other).not.toMatch(write ?? /never/);
    }
  });

  for (const route of denying) {
    it(`${route.id} (${route.tableAccess}) may Put audit items, with the table key's write actions`, () => {
      const statements = routeStatements(route.id);
      expect(statements.filter(isAuditPut)).toHaveLength(1);
      // Writers' own TableKey statement is the same grant; either way it is there.
      expect(statements.some(isAuditKey)).toBe(true);
    });
  }

  for (const route of readOnly) {
    it(`${route.id} (read) can write no table item but an audit item`, () => {
      const statements = routeStatements(route.id);
      const writing = statements.filter((s) => actionsOf(s).some((a) => TABLE_WRITE.test(a)));
      expect(writing.length).toBeGreaterThan(0);
      // An audit item, or (a route with a scope) a key's last-use item.
      for (const s of writing) {
        expect(
          isAuditPut(s) || (route.scope !== undefined && isApiKeyUse(s)),
          JSON.stringify(s),
        ).toBe(true);
      }
    });
  }

  it("routes that cannot deny get no audit grant, and no other role carries the audit condition", () => {
    const allowed = new Set(denying.map((r) => idOf(fnOf(r.id).role.policy)));
    let seen = 0;
    for (const { policyId, statement } of allStatements(dev.template)) {
      if (!JSON.stringify(statement).includes("dynamodb:LeadingKeys")) continue;
      seen++;
      expect(allowed.has(policyId), policyId).toBe(true);
    }
    // One audit condition per denying route, two key conditions per route with a scope.
    expect(seen).toBe(denying.length + 2 * routes.filter((r) => r.scope !== undefined).length);
    for (const route of routes.filter((r) => !canDeny(r))) {
      expect(routeStatements(route.id).filter(isAuditPut), route.id).toEqual([]);
    }
  });
});
