import { randomBytes } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Role } from "../../lib/routes/types.ts";
import { localClient } from "../../local/dynamodb.ts";
import { call } from "./http.ts";
import { TEST_ADMIN } from "./spawn-stack.ts";

/**
 * Identity helpers for the stack-tier suites. Every helper talks to the shared test
 * stack unless `base` (another stack's apiUrl) is given, and throws with the status
 * and problem code when a step fails, so a broken precondition is loud.
 *
 *   registerUser()            a new customer with one USD account (or `currency`)
 *   loginAs(email, password)  a token pair
 *   adminToken()              an access token of the seeded admin (TEST_ADMIN)
 *   tokenWithRoles(roles)     a new user whose roles an admin replaced, with tokens
 *                             that carry those roles (obtained by refresh)
 */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
}

export interface TestAccount {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  readonly balance: number;
  readonly status: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RegisteredUser {
  readonly user: TestUser;
  readonly account: TestAccount;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

function expectStatus(step: string, res: { status: number; text: string }, status: number) {
  if (res.status !== status) {
    throw new Error(`${step}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
}

/** A fresh, unique email (lower case) for one test user. */
export function uniqueEmail(tag = "user"): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(5).toString("hex")}@micropay.test`;
}

/** A fresh password (well inside 12..72 bytes). */
export function uniquePassword(): string {
  return `pw-${randomBytes(12).toString("base64url")}`;
}

export async function loginAs(email: string, password: string, base?: string): Promise<TokenPair> {
  const res = await call<TokenPair>("POST", "/v1/auth/login", {
    body: { email, password },
    ...(base ? { base } : {}),
  });
  expectStatus(`login ${email}`, res, 200);
  return res.json;
}

export async function registerUser(
  opts: { email?: string; password?: string; currency?: string; base?: string } = {},
): Promise<RegisteredUser> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? uniquePassword();
  const base = opts.base ? { base: opts.base } : {};
  const res = await call<{ user: TestUser; account: TestAccount }>("POST", "/v1/auth/register", {
    body: { email, password, ...(opts.currency ? { currency: opts.currency } : {}) },
    ...base,
  });
  expectStatus(`register ${email}`, res, 201);
  const tokens = await loginAs(email, password, opts.base);
  return {
    user: res.json.user,
    account: res.json.account,
    email,
    password,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
  };
}

const adminTokens = new Map<string, Promise<string>>();

/**
 * An access token of the stack's seeded admin (TEST_ADMIN). Cached per stack for the
 * test file; access tokens live 15 minutes, longer than any test file runs.
 */
export function adminToken(base?: string): Promise<string> {
  const key = base ?? "shared";
  let token = adminTokens.get(key);
  if (!token) {
    token = loginAs(TEST_ADMIN.email, TEST_ADMIN.password, base).then((t) => t.accessToken);
    token.catch(() => adminTokens.delete(key));
    adminTokens.set(key, token);
  }
  return token;
}

/** PUT /v1/admin/users/{userId}/roles as the seeded admin; returns the response. */
export async function setRoles(userId: string, roles: readonly Role[], base?: string) {
  return call("PUT", `/v1/admin/users/${userId}/roles`, {
    body: { roles },
    token: await adminToken(base),
    ...(base ? { base } : {}),
  });
}

/**
 * A new user holding exactly `roles`: registered (as a customer), roles replaced by
 * the admin, then a fresh login so the tokens carry the new roles.
 */
export async function tokenWithRoles(
  roles: readonly Role[],
  opts: { base?: string; currency?: string } = {},
): Promise<RegisteredUser> {
  const registered = await registerUser(opts);
  const res = await setRoles(registered.user.id, roles, opts.base);
  expectStatus(`set roles ${roles.join(",")}`, res, 200);
  const tokens = await loginAs(registered.email, registered.password, opts.base);
  return {
    ...registered,
    user: { ...registered.user, roles: [...roles] },
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
  };
}

/** A DynamoDB document client on a stack's DynamoDB Local (tests read and poke items). */
export function stackTable(info: { dynamodbEndpoint: string; tableName: string }) {
  const doc = DynamoDBDocumentClient.from(localClient(info.dynamodbEndpoint));
  return {
    doc,
    tableName: info.tableName,
    async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: info.tableName, Key: key, ConsistentRead: true }),
      );
      return out.Item;
    },
    /** Audit outbox items (standalone and transactional) matching a predicate. */
    async auditEvents(
      match: (e: {
        action: string;
        reason?: string;
        actor: { requestId: string; clientRequestId?: string };
      }) => boolean,
    ) {
      const found: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new ScanCommand({
            TableName: info.tableName,
            FilterExpression: "#t = :t",
            ExpressionAttributeNames: { "#t": "type" },
            ExpressionAttributeValues: { ":t": "audit_event" },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const e = item.event as Parameters<typeof match>[0];
          if (e && match(e)) found.push(item.event as Record<string, unknown>);
        }
        start = out.LastEvaluatedKey;
      } while (start);
      return found;
    },
    destroy: () => doc.destroy(),
  };
}
