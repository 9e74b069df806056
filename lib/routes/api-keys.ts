import * as z from "zod";
import { MAX_KEYS_PER_OWNER } from "../auth/api-keys.ts";
import { ANY_ROLE, defineRoute, SCOPES } from "./types.ts";

/**
 * API keys for merchants' servers (API.md). Only people manage keys: these rows carry
 * no `scope`, so a request made with a key is refused here (403) before any lookup.
 * Admins and auditors are refused by the domain (lib/auth/api-keys.ts) even when they
 * also hold customer or merchant.
 */
const when = z.iso.datetime();
const keyId = z
  .string()
  .regex(/^key_[0-9A-HJKMNP-TV-Z]{26}$/)
  .meta({ example: "key_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD" });
const scope = z.enum(SCOPES);

export const createApiKeyBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[\x20-\x7e]+$/, "printable ASCII")
    .meta({ description: "Your label for the key (say, the server that uses it)." }),
  scopes: z
    .array(scope)
    .min(1)
    .max(SCOPES.length)
    .meta({ description: "What the key may do; each route names the scope it needs." }),
  expiresAt: z.iso
    .datetime({ offset: true })
    .max(64)
    .optional()
    .meta({ description: "When the key stops working (RFC 3339, in the future); none: never." }),
});

export const apiKeyView = z.object({
  id: keyId,
  name: z.string(),
  scopes: z.array(scope),
  prefix: z
    .string()
    .meta({ description: "The key's first characters, to recognise it; never the secret." }),
  createdAt: when,
  expiresAt: when.nullable(),
  lastUsedAt: when
    .nullable()
    .meta({ description: "Updated at most once a minute (MICROPAY_API_KEY_LAST_USED_SECONDS)." }),
});

export const createdApiKey = apiKeyView.extend({
  key: z.string().meta({
    description:
      "The secret: `mp_live_` + 38 base62 characters (the last 6 a checksum). Shown only in this answer; MicroPay stores only its SHA-256.",
  }),
});

export const apiKeyPage = z.object({
  data: z.array(apiKeyView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});

export const apiKeyParams = z.strictObject({ keyId });

export const apiKeysCreateRoute = defineRoute({
  id: "api-keys-create",
  method: "POST",
  path: "/v1/api-keys",
  summary: `Create an API key for your servers (secret shown once; at most ${MAX_KEYS_PER_OWNER})`,
  tags: ["API keys"],
  auth: { roles: ["customer", "merchant"] },
  body: createApiKeyBody,
  response: createdApiKey,
  successStatus: 201,
  errorCodes: ["api_key_limit", "service_unavailable"],
  tableAccess: "write",
  // List the owner's keys (Query, BatchGet of last uses) for the limit, then one
  // transaction of Puts (lookup, owner, last-use and audit items).
  table: { actions: ["PutItem", "BatchGetItem"], query: ["table"] },
  usesSigningKey: true,
  example: { body: { name: "shop backend", scopes: ["payments:write", "payments:read"] } },
});

export const apiKeysListRoute = defineRoute({
  id: "api-keys-list",
  method: "GET",
  path: "/v1/api-keys",
  summary: "Your API keys, newest first (never the secret); one page",
  tags: ["API keys"],
  auth: ANY_ROLE,
  response: apiKeyPage,
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  table: { actions: ["BatchGetItem"], query: ["table"] },
  usesSigningKey: true,
});

export const apiKeysRevokeRoute = defineRoute({
  id: "api-keys-revoke",
  method: "DELETE",
  path: "/v1/api-keys/{keyId}",
  summary: "Revoke one of your API keys (refused from the next request on)",
  tags: ["API keys"],
  auth: ANY_ROLE,
  params: apiKeyParams,
  successStatus: 204,
  errorCodes: ["not_found", "service_unavailable"],
  tableAccess: "write",
  table: { actions: ["GetItem", "DeleteItem", "PutItem"] },
  usesSigningKey: true,
  example: { params: { keyId: "key_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD" } },
});

export const apiKeyRoutes = [apiKeysCreateRoute, apiKeysListRoute, apiKeysRevokeRoute] as const;
