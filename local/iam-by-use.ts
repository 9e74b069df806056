import type { Assembly, FunctionArtifact } from "./artifacts.ts";
import type { RecordedCall } from "./artifacts-protocol.ts";

/**
 * IAM proven by use: compares what each function was seen to call (the artifacts
 * mode's record, local/artifacts-recorder.ts) with the identity policy its template
 * gives its execution role, in both directions:
 *
 * - denied: a call no Allow statement of the function's policies permits (or a Deny
 *   statement refuses). DynamoDB Local authorizes nothing, so this is judged here.
 * - unused: a granted (action, resource) that no recorded call needed.
 *
 * Resources are compared by what they are in the template (logical id, plus
 * `/index/<name>` or `/stream`) and shown by construct path (`Data/Table/index/gsi1`,
 * `own log group`). KMS grants on a key that encrypts a table, secret or queue are
 * used through that resource: a call on it counts as use of the key (Decrypt for
 * reads, Decrypt, Encrypt and GenerateDataKey for writes), since the service calls
 * KMS with the caller's permissions; the function itself never calls KMS.
 */

/** Synthesized CloudFormation is untyped JSON. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON has no static type
type Json = any;

export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** One call as compared: the IAM action and the resource key it needs. */
export interface Use {
  readonly action: string;
  /** Template logical id (with `/index/..` or `/stream`), or the raw name when unknown. */
  readonly resource: string;
  readonly leadingKey?: string;
  /** Inferred from another call (KMS through the service), not seen directly. */
  readonly derived?: boolean;
}

/** A granted (action, resource) pair of one statement. */
export interface Grant {
  readonly fn: string;
  readonly sid: string;
  readonly action: string;
  /** Construct path of the resource (`Data/Table/index/gsi1`, `own log group`, `*`). */
  readonly resource: string;
  readonly condition?: string;
}

export interface Comparison {
  /** `<fn>: <action> on <resource> [leading key <prefix>]`, one line per call. */
  readonly denied: readonly string[];
  readonly unused: readonly Grant[];
  /** Every use per function (derived ones included), for reports. */
  readonly uses: Readonly<Record<string, readonly Use[]>>;
}

/** Every identity-policy statement attached to a function's execution role. */
export function statementsOf(assembly: Assembly, fn: FunctionArtifact): Statement[] {
  const roleId = fn.roleId;
  if (!roleId) throw new Error(`function ${fn.name} has no role in the template`);
  const resources = assembly.template.Resources as Record<string, Json>;
  const role = resources[roleId];
  const out: Statement[] = [];
  for (const p of role?.Properties?.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  const attached = new Set<string>(
    (role?.Properties?.ManagedPolicyArns ?? [])
      .map((a: Json) => a?.Ref)
      .filter((id: unknown) => typeof id === "string"),
  );
  for (const [id, r] of Object.entries(resources)) {
    const type = r.Type;
    if (type !== "AWS::IAM::ManagedPolicy" && type !== "AWS::IAM::Policy") continue;
    const roles: Json[] = r.Properties?.Roles ?? [];
    if (attached.has(id) || roles.some((x) => x?.Ref === roleId)) {
      out.push(...r.Properties.PolicyDocument.Statement);
    }
  }
  return out;
}

/** A policy Resource expression as a resource key (see `Use.resource`). */
export function resourceKey(expr: unknown): string {
  if (expr === "*") return "*";
  const e = expr as Json;
  if (typeof e?.Ref === "string") return e.Ref;
  const getAtt = e?.["Fn::GetAtt"];
  if (Array.isArray(getAtt) && getAtt[1] === "Arn") return String(getAtt[0]);
  if (Array.isArray(getAtt) && getAtt[1] === "StreamArn") return `${getAtt[0]}/stream`;
  const join = e?.["Fn::Join"];
  if (Array.isArray(join) && join[0] === "" && Array.isArray(join[1]) && join[1].length === 2) {
    const [head, tail] = join[1];
    const base = resourceKey(head);
    if (typeof tail === "string" && /^\/index\/[A-Za-z0-9_.-]+$/.test(tail)) return base + tail;
  }
  return JSON.stringify(expr);
}

const asList = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

function glob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** DynamoDB actions whose request resource is always the table, never an index. */
const TABLE_ONLY_ACTIONS = new Set(
  [
    "GetItem",
    "BatchGetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheckItem",
    "BatchWriteItem",
  ].map((a) => `dynamodb:${a}`),
);
const DYNAMODB_WRITES = new Set(
  ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"].map((a) => `dynamodb:${a}`),
);

/**
 * Does the condition block hold for this use? Only `dynamodb:LeadingKeys` with
 * `ForAllValues:StringLike` is understood (a use's key prefix `AUDIT#` is tested as
 * `AUDIT#x`); any other condition is not, and so never holds here.
 */
function conditionHolds(condition: Statement["Condition"], use: Use): boolean {
  if (!condition) return true;
  for (const [operator, keys] of Object.entries(condition)) {
    for (const [key, values] of Object.entries(keys)) {
      if (operator !== "ForAllValues:StringLike" || key !== "dynamodb:LeadingKeys") return false;
      if (use.leadingKey === undefined || use.leadingKey === "(none)") return false;
      const sample = `${use.leadingKey}x`;
      if (!asList(values as string | string[]).some((p) => glob(String(p)).test(sample))) {
        return false;
      }
    }
  }
  return true;
}

function permits(s: Statement, use: Use): boolean {
  const actionHit = asList(s.Action).some((a) => glob(a).test(use.action));
  const resourceHit = asList(s.Resource).some((r) => {
    const key = resourceKey(r);
    return key === "*" || key === use.resource;
  });
  return actionHit && resourceHit && conditionHolds(s.Condition, use);
}

/** The KMS key (logical id) that encrypts a resource, if the template names one. */
function keyOf(resources: Record<string, Json>, id: string): string | undefined {
  const r = resources[id.replace(/\/.*$/, "")];
  const p = r?.Properties ?? {};
  const expr =
    r?.Type === "AWS::DynamoDB::Table"
      ? p.SSESpecification?.KMSMasterKeyId
      : r?.Type === "AWS::SecretsManager::Secret"
        ? p.KmsKeyId
        : r?.Type === "AWS::SQS::Queue"
          ? p.KmsMasterKeyId
          : undefined;
  if (expr === undefined) return undefined;
  const key = resourceKey(expr);
  return resources[key] ? key : undefined;
}

/** The uses a function's recorded calls amount to, with the KMS uses they imply. */
export function usesOf(
  calls: readonly RecordedCall[],
  resources: Record<string, Json>,
  localNames: ReadonlyMap<string, string>,
): Use[] {
  const uses: Use[] = [];
  for (const c of calls) {
    const action = `${c.service}:${c.action}`;
    let resource: string;
    if (c.standInFor) resource = c.standInFor;
    else if (c.table !== undefined) {
      const id = localNames.get(c.table) ?? `table ${c.table}`;
      resource = c.index ? `${id}/index/${c.index}` : id;
    } else resource = c.resource ?? "(no resource)";
    uses.push({
      action,
      resource,
      ...(c.leadingKey !== undefined ? { leadingKey: c.leadingKey } : {}),
    });
    const key = keyOf(resources, resource);
    if (!key) continue;
    const kmsActions =
      c.service === "dynamodb"
        ? DYNAMODB_WRITES.has(action)
          ? ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
          : ["kms:Decrypt"]
        : c.service === "sqs"
          ? ["kms:GenerateDataKey", "kms:Decrypt"]
          : ["kms:Decrypt"];
    for (const a of kmsActions) uses.push({ action: a, resource: key, derived: true });
  }
  return uses;
}

/**
 * Compares each function's record with its policy. `localNames` maps a local
 * resource name (the DynamoDB Local table) to the template resource it stands for.
 * Functions absent from `calls` are compared with an empty record.
 */
export function compareWithPolicy(
  assembly: Assembly,
  calls: Readonly<Record<string, readonly RecordedCall[]>>,
  localNames: ReadonlyMap<string, string>,
): Comparison {
  const resources = assembly.template.Resources as Record<string, Json>;
  const denied: string[] = [];
  const unused: Grant[] = [];
  const allUses: Record<string, Use[]> = {};
  for (const fn of assembly.functions) {
    const statements = statementsOf(assembly, fn);
    const uses = usesOf(calls[fn.name] ?? [], resources, localNames);
    allUses[fn.name] = uses;
    const label = (key: string) => resourceLabel(assembly, fn, key);
    for (const use of uses.filter((u) => !u.derived)) {
      const allowed = statements.some((s) => s.Effect === "Allow" && permits(s, use));
      const refused = statements.some((s) => s.Effect === "Deny" && permits(s, use));
      if (!allowed || refused) {
        const key = use.leadingKey ? ` (leading key ${use.leadingKey})` : "";
        denied.push(`${fn.name}: ${use.action} on ${label(use.resource)}${key}`);
      }
    }
    for (const s of statements.filter((x) => x.Effect === "Allow")) {
      for (const action of asList(s.Action)) {
        for (const r of asList(s.Resource)) {
          const key = resourceKey(r);
          // A grant no request can use: an item action names the table, never an index.
          if (TABLE_ONLY_ACTIONS.has(action) && key.includes("/index/")) continue;
          const grant: Statement = { ...s, Action: action, Resource: r };
          if (uses.some((u) => permits(grant, u))) continue;
          unused.push({
            fn: fn.name,
            sid: s.Sid ?? "(no sid)",
            action,
            resource: label(key),
            ...(s.Condition ? { condition: JSON.stringify(s.Condition) } : {}),
          });
        }
      }
    }
  }
  return { denied: [...new Set(denied)].sort(), unused, uses: allUses };
}

/** A resource key shown by construct path: `Data/Table/index/gsi1`, `own log group`. */
export function resourceLabel(assembly: Assembly, fn: FunctionArtifact, key: string): string {
  if (key === "*") return "*";
  const [id = "", ...rest] = key.split("/");
  if (id === fn.logGroupId) return "own log group";
  const path = assembly.pathOf(id);
  return path ? [path, ...rest].join("/") : key;
}
