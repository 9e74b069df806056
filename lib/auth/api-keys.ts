import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { monotonicFactory } from "ulid";
import { type AuditEvent, actorOf, newAuditEvent } from "../audit/events.ts";
import type { CallContext } from "../context.ts";
import { Refusal } from "../problems.ts";
import type { Principal, Role, Scope } from "../routes/types.ts";

/**
 * API keys for merchants' servers (API.md "API keys for merchants' servers"): the key
 * format, its checksum, the hash it is stored and found by, and the operations
 * (create, list, revoke, authenticate) over a store port. No HTTP, no DynamoDB here:
 * lib/store/api-keys.ts implements the port, lib/http/auth.ts calls `authenticateApiKey`.
 *
 * Format: `mp_live_` + 32 base62 characters of randomness (~190 bits) + 6 base62
 * characters of CRC32 over the prefix and the random part (the GitHub token layout).
 * The checksum lets the chain refuse a mistyped or truncated key before any table
 * read, and with the fixed prefix lets secret scanners recognise a leaked key with
 * almost no false positives. It is not a MAC: it proves nothing about origin.
 */
export const API_KEY_PREFIX = "mp_live_";
/** How an API key arrives: the WAF's per-key rate rule and the local gateway match on it. */
export const API_KEY_BEARER_PREFIX = `Bearer ${API_KEY_PREFIX}`;
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;
/** How much of a key its listing shows (prefix and 4 random characters: ~24 of ~190 bits). */
const DISPLAY_CHARS = API_KEY_PREFIX.length + 4;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);
const KEY_ID = /^key_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Roles a key can carry: privileged work (admin, auditor) goes through people with MFA. */
export const KEY_ROLES: readonly Role[] = ["customer", "merchant"];
/** At most this many live keys per owner (a bound on what one account can store). */
export const MAX_KEYS_PER_OWNER = 20;

const ulid = monotonicFactory();
export const newApiKeyId = () => `key_${ulid()}`;
export const isApiKeyId = (value: string) => KEY_ID.test(value);

function base62(value: number, width: number): string {
  let out = "";
  let n = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Six base62 characters of CRC32 (62^6 > 2^32, so every CRC32 has one encoding). */
export function checksumOf(body: string): string {
  return base62(crc32(Buffer.from(body, "utf8")), CHECKSUM_CHARS);
}

/** A new secret key: `mp_live_<32 random base62><6 checksum base62>`. */
export function generateApiKey(random: (n: number) => Buffer = randomBytes): string {
  let body = "";
  // Rejection sampling: bytes >= 248 (4 * 62) are dropped, so every character is uniform.
  while (body.length < RANDOM_CHARS) {
    for (const byte of random(RANDOM_CHARS)) {
      if (byte < 248 && body.length < RANDOM_CHARS) body += BASE62[byte % 62];
    }
  }
  const head = `${API_KEY_PREFIX}${body}`;
  return `${head}${checksumOf(head)}`;
}

/** True when the text has the exact shape of a key. */
export function looksLikeApiKey(text: string): boolean {
  return text.startsWith(API_KEY_PREFIX);
}

/** Shape and checksum, with no I/O: a mistyped key is refused here. */
export function checkApiKeyFormat(text: string): "ok" | "malformed" | "bad_checksum" {
  if (text.length !== API_KEY_LENGTH || !KEY_SHAPE.test(text)) return "malformed";
  const head = text.slice(0, -CHECKSUM_CHARS);
  return checksumOf(head) === text.slice(-CHECKSUM_CHARS) ? "ok" : "bad_checksum";
}

/**
 * The stored hash of a key: plain SHA-256, hex. A slow password hash (bcrypt, scrypt)
 * exists to make guessing a low-entropy secret from its hash expensive; a key carries
 * ~190 random bits, so its SHA-256 cannot be inverted or brute-forced however fast the
 * hash is, and a slow hash would only add its cost to every request. No key (pepper)
 * is needed for the same reason; a table dump yields hashes no one can turn back into
 * keys. Lookup is by this hash (an exact GetItem), so no comparison of secrets happens
 * in this code at all.
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** What the store keeps of a key (never the secret). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** The first characters of the secret, for recognising a key in a listing. */
  readonly prefix: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

export interface ApiKeyListed extends ApiKeyRecord {
  readonly lastUsedAt: string | null;
}

/** What authentication finds by a key's hash. */
export interface ApiKeyLookup {
  readonly id: string;
  readonly ownerId: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt: string | null;
}

/** The store port (lib/store/api-keys.ts). */
export interface ApiKeyStore {
  /** Writes the key (lookup and owner items, last-use item) with its audit event, in one transaction. */
  create(record: ApiKeyRecord, hash: string, event: AuditEvent): Promise<void>;
  /** The owner's keys, oldest first. */
  listByOwner(ownerId: string): Promise<ApiKeyListed[]>;
  /** Deletes the owner's key and writes the event in one transaction; false if none. */
  revoke(ownerId: string, keyId: string, event: AuditEvent): Promise<boolean>;
  /** The key a hash belongs to (strongly consistent: a revoked key is gone at once). */
  findByHash(hash: string): Promise<ApiKeyLookup | undefined>;
  /** The owner's current roles (undefined when the user is gone). */
  ownerRoles(ownerId: string): Promise<readonly Role[] | undefined>;
  /**
   * Records a use: sets the key's lastUsedAt to `now` only if it is older than
   * `before` (or unset) and the key still exists. Never throws.
   */
  touch(keyId: string, now: string, before: string): Promise<void>;
}

export interface ApiKeyDeps {
  readonly store: ApiKeyStore;
  readonly now?: () => Date;
  /** Minimum interval between two lastUsedAt writes of one key (setting). */
  readonly lastUsedIntervalSeconds: number;
}

export interface CreateApiKeyInput {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt?: string | undefined;
}

export interface CreatedApiKey extends ApiKeyListed {
  /** The secret: shown in this answer only. */
  readonly key: string;
}

/**
 * Creates a key for the caller. Holders of `admin` or `auditor` are refused even when
 * they also hold `customer` or `merchant` (privileged people authenticate with MFA),
 * and so is an API-key caller (the route table already keeps keys off this route).
 */
export async function createApiKey(
  ctx: CallContext,
  input: CreateApiKeyInput,
  deps: Pick<ApiKeyDeps, "store" | "now">,
): Promise<CreatedApiKey> {
  const p = ctx.principal;
  if (p.apiKeyId !== undefined) throw new Refusal("forbidden", "An API key cannot manage keys.");
  if (p.roles.some((r) => !KEY_ROLES.includes(r))) {
    throw new Refusal("forbidden", "Admins and auditors cannot create API keys.");
  }
  const now = (deps.now ?? (() => new Date()))();
  if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now.getTime()) {
    throw new Refusal("validation_failed", "expiresAt must be in the future.", {
      errors: [{ path: "body.expiresAt", message: "must be in the future" }],
    });
  }
  const existing = await deps.store.listByOwner(p.userId);
  if (existing.length >= MAX_KEYS_PER_OWNER) {
    throw new Refusal(
      "api_key_limit",
      `At most ${MAX_KEYS_PER_OWNER} API keys per user; revoke one first.`,
    );
  }
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    id: newApiKeyId(),
    ownerId: p.userId,
    name: input.name,
    scopes: [...new Set(input.scopes)].sort(),
    prefix: key.slice(0, DISPLAY_CHARS),
    createdAt: now.toISOString(),
    expiresAt:
      input.expiresAt === undefined ? null : new Date(Date.parse(input.expiresAt)).toISOString(),
  };
  const event = newAuditEvent(actorOf(ctx), "api_key.created", {
    targets: { apiKeyId: record.id, userId: p.userId },
    reason: `scopes ${record.scopes.join(" ")}`,
  });
  await deps.store.create(record, hashApiKey(key), event);
  return { ...record, lastUsedAt: null, key };
}

/** The caller's keys (never a secret or a hash). */
export async function listApiKeys(
  ctx: CallContext,
  _input: unknown,
  deps: Pick<ApiKeyDeps, "store">,
): Promise<ApiKeyListed[]> {
  return deps.store.listByOwner(ctx.principal.userId);
}

/** Revokes one of the caller's keys: refused from the next request on. 404 for any other id. */
export async function revokeApiKey(
  ctx: CallContext,
  input: { readonly id: string },
  deps: Pick<ApiKeyDeps, "store">,
): Promise<void> {
  const event = newAuditEvent(actorOf(ctx), "api_key.revoked", {
    targets: { apiKeyId: input.id, userId: ctx.principal.userId },
  });
  const done = await deps.store.revoke(ctx.principal.userId, input.id, event);
  if (!done) throw new Refusal("not_found", "No such API key.");
}

/** Why a key was refused (audit only; the caller gets the bad-token 401 for all). */
export type ApiKeyRejection =
  | "api_key_malformed"
  | "api_key_bad_checksum"
  | "api_key_unknown"
  | "api_key_expired"
  | "api_key_owner_gone";

export type ApiKeyCheck =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      readonly reason: ApiKeyRejection;
      readonly keyId?: string;
      readonly ownerId?: string;
    };

/**
 * Checks a presented key: its shape and checksum (no I/O), then the key by its hash,
 * then its expiry, then the owner's CURRENT roles (so a role removed from the owner is
 * removed from its keys at once), limited to KEY_ROLES. The principal acts as the
 * owner with the key's scopes. A use is recorded at most once per
 * `lastUsedIntervalSeconds` per key and container (`shouldTouch`), and the store's
 * conditional write keeps concurrent containers from writing it more than once per
 * interval: no write per request, best effort, never failing the request.
 */
export async function authenticateApiKey(key: string, deps: ApiKeyDeps): Promise<ApiKeyCheck> {
  const format = checkApiKeyFormat(key);
  if (format === "malformed") return { ok: false, reason: "api_key_malformed" };
  if (format === "bad_checksum") return { ok: false, reason: "api_key_bad_checksum" };
  const found = await deps.store.findByHash(hashApiKey(key));
  if (!found) return { ok: false, reason: "api_key_unknown" };
  const now = (deps.now ?? (() => new Date()))();
  const refused = { keyId: found.id, ownerId: found.ownerId };
  if (found.expiresAt !== null && Date.parse(found.expiresAt) <= now.getTime()) {
    return { ok: false, reason: "api_key_expired", ...refused };
  }
  const roles = await deps.store.ownerRoles(found.ownerId);
  if (!roles) return { ok: false, reason: "api_key_owner_gone", ...refused };
  const intervalMs = deps.lastUsedIntervalSeconds * 1000;
  if (shouldTouch(found.id, now.getTime(), intervalMs)) {
    const before = new Date(now.getTime() - intervalMs).toISOString();
    await deps.store.touch(found.id, now.toISOString(), before);
  }
  return {
    ok: true,
    principal: {
      userId: found.ownerId,
      roles: roles.filter((r) => KEY_ROLES.includes(r)),
      tokenId: found.id,
      apiKeyId: found.id,
      scopes: found.scopes,
    },
  };
}

/** When this container last recorded a use of each key (bounded; oldest dropped). */
const TOUCHED_MAX = 1_000;
const touched = new Map<string, number>();

function shouldTouch(keyId: string, nowMs: number, intervalMs: number): boolean {
  const last = touched.get(keyId);
  if (last !== undefined && nowMs - last < intervalMs) return false;
  touched.delete(keyId);
  if (touched.size >= TOUCHED_MAX) {
    const oldest = touched.keys().next().value;
    if (oldest !== undefined) touched.delete(oldest);
  }
  touched.set(keyId, nowMs);
  return true;
}

/** Tests only: forget which keys this container recorded a use of. */
export function clearTouchedKeysForTests(): void {
  touched.clear();
}

/** Does a key principal hold the scope a route needs? (A token principal has no scopes.) */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.apiKeyId === undefined || (principal.scopes ?? []).includes(scope);
}
