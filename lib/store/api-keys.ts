import { BatchGetCommand, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import type { ApiKeyListed, ApiKeyLookup, ApiKeyRecord, ApiKeyStore } from "../auth/api-keys.ts";
import { logger } from "../observability.ts";
import { ROLES, type Role, SCOPES, type Scope } from "../routes/types.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import { API_KEY_PREFIX, apiKeyLookupKey, apiKeyOwnerKey, apiKeyUseKey, userKey } from "./keys.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { labelled, transact } from "./transact.ts";

/**
 * DynamoDB access for API keys (the store port of lib/auth/api-keys.ts). Items (keys
 * in lib/store/keys.ts):
 *
 *   APIKEY#<sha256(key)> / KEY            lookup: keyId, ownerId, scopes, expiry
 *                                         (read by every request made with a key)
 *   USER#<ownerId>       / APIKEY#<keyId> the owner's copy: name, scopes, prefix,
 *                                         createdAt, expiry, and the lookup item's hash
 *                                         (list and revoke read only the caller's partition)
 *   APIKEYUSE#<keyId>    / USE            lastUsedAt, the only thing a key's request writes
 *
 * Create and revoke write all three (and the audit item) in one transaction, so a key
 * is never half there. A key with an expiry carries it as the TTL attribute
 * (`expiresAt`, epoch seconds) on each item, so expired keys are eventually removed;
 * authentication checks the expiry itself (TTL deletion is lazy).
 */

const ttlOf = (iso: string | null) =>
  iso === null ? {} : { expiresAt: Math.ceil(Date.parse(iso) / 1000) };

function scopesOf(value: unknown): Scope[] {
  return Array.isArray(value)
    ? value.filter((s): s is Scope => (SCOPES as readonly unknown[]).includes(s))
    : [];
}

export const dynamoApiKeyStore: ApiKeyStore = {
  async create(record: ApiKeyRecord, hash: string, event: AuditEvent): Promise<void> {
    const table = tableName();
    const common = { keyId: record.id, scopes: [...record.scopes], ...ttlOf(record.expiresAt) };
    const out = await transact([
      labelled("lookup", {
        Put: {
          TableName: table,
          Item: {
            ...apiKeyLookupKey(hash),
            type: "api_key",
            ...common,
            ownerId: record.ownerId,
            expiresAtIso: record.expiresAt,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      }),
      labelled("owner", {
        Put: {
          TableName: table,
          Item: {
            ...apiKeyOwnerKey(record.ownerId, record.id),
            type: "api_key_owner",
            ...common,
            name: record.name,
            prefix: record.prefix,
            createdAt: record.createdAt,
            expiresAtIso: record.expiresAt,
            lookupHash: hash,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      }),
      labelled("use", {
        Put: {
          TableName: table,
          Item: { ...apiKeyUseKey(record.id), type: "api_key_use", ...ttlOf(record.expiresAt) },
        },
      }),
      auditPut(event),
    ]);
    // A 190-bit random key or a fresh ULID colliding: not a caller's doing.
    if (!out.ok) throw new Error(`api key not created: ${[...out.failed.keys()].join(",")}`);
  },

  async listByOwner(ownerId: string): Promise<ApiKeyListed[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await withRetry(() =>
        docClient().send(
          new QueryCommand({
            TableName: tableName(),
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues: { ":pk": userKey(ownerId).pk, ":prefix": API_KEY_PREFIX },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const used = await lastUses(items.map((i) => String(i.keyId)));
    return items.map((i) => ({
      id: String(i.keyId),
      ownerId,
      name: String(i.name),
      scopes: scopesOf(i.scopes),
      prefix: String(i.prefix),
      createdAt: String(i.createdAt),
      expiresAt: typeof i.expiresAtIso === "string" ? i.expiresAtIso : null,
      lastUsedAt: used.get(String(i.keyId)) ?? null,
    }));
  },

  async revoke(ownerId: string, keyId: string, event: AuditEvent): Promise<boolean> {
    const found = await withRetry(() =>
      docClient().send(
        new GetCommand({
          TableName: tableName(),
          Key: apiKeyOwnerKey(ownerId, keyId),
          ConsistentRead: true,
        }),
      ),
    );
    const hash = found.Item?.lookupHash;
    if (typeof hash !== "string") return false;
    const table = tableName();
    const out = await transact([
      labelled("owner", {
        Delete: {
          TableName: table,
          Key: apiKeyOwnerKey(ownerId, keyId),
          ConditionExpression: "attribute_exists(pk)",
        },
      }),
      labelled("lookup", { Delete: { TableName: table, Key: apiKeyLookupKey(hash) } }),
      labelled("use", { Delete: { TableName: table, Key: apiKeyUseKey(keyId) } }),
      auditPut(event),
    ]);
    // Only a concurrent revoke of the same key fails the owner item's condition.
    return out.ok;
  },

  async findByHash(hash: string): Promise<ApiKeyLookup | undefined> {
    const out = await withRetry(() =>
      docClient().send(
        new GetCommand({
          TableName: tableName(),
          Key: apiKeyLookupKey(hash),
          ConsistentRead: true,
          ProjectionExpression: "keyId, ownerId, scopes, expiresAtIso",
        }),
      ),
    );
    const item = out.Item;
    if (!item || typeof item.keyId !== "string" || typeof item.ownerId !== "string") {
      return undefined;
    }
    return {
      id: item.keyId,
      ownerId: item.ownerId,
      scopes: scopesOf(item.scopes),
      expiresAt: typeof item.expiresAtIso === "string" ? item.expiresAtIso : null,
    };
  },

  async ownerRoles(ownerId: string): Promise<readonly Role[] | undefined> {
    const out = await withRetry(() =>
      docClient().send(
        new GetCommand({
          TableName: tableName(),
          Key: userKey(ownerId),
          ConsistentRead: true,
          ProjectionExpression: "#roles",
          ExpressionAttributeNames: { "#roles": "roles" },
        }),
      ),
    );
    const roles = out.Item?.roles;
    if (!Array.isArray(roles)) return undefined;
    return roles.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r));
  },

  async touch(keyId: string, now: string, before: string): Promise<void> {
    try {
      await docClient().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: apiKeyUseKey(keyId),
          UpdateExpression: "SET lastUsedAt = :now",
          // Never recreates the item of a revoked key; at most one write per interval.
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :before)",
          ExpressionAttributeValues: { ":now": now, ":before": before },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return;
      logger.warn("api key use not recorded", {
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  },
};

/** lastUsedAt of each key (BatchGetItem, 100 keys a request). */
async function lastUses(keyIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < keyIds.length; i += 100) {
    let keys: Record<string, unknown>[] = keyIds
      .slice(i, i + 100)
      .map((id) => ({ ...apiKeyUseKey(id) }));
    for (let round = 0; keys.length > 0; round++) {
      const res = await withRetry(() =>
        docClient().send(
          new BatchGetCommand({
            RequestItems: {
              [tableName()]: { Keys: keys, ProjectionExpression: "pk, lastUsedAt" },
            },
          }),
        ),
      );
      for (const item of res.Responses?.[tableName()] ?? []) {
        if (typeof item.lastUsedAt === "string" && typeof item.pk === "string") {
          out.set(item.pk.replace(/^APIKEYUSE#/, ""), item.lastUsedAt);
        }
      }
      keys = (res.UnprocessedKeys?.[tableName()]?.Keys ?? []) as Record<string, unknown>[];
      if (keys.length > 0 && round >= 4) break;
    }
  }
  return out;
}
