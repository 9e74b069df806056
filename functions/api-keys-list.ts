import { listApiKeys } from "../lib/auth/api-keys.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { apiKeysListRoute } from "../lib/routes/api-keys.ts";
import { dynamoApiKeyStore } from "../lib/store/api-keys.ts";

export const handler = httpHandler(apiKeysListRoute, async (req) => {
  const keys = await listApiKeys(req, undefined, { store: dynamoApiKeyStore });
  const data = keys
    .map(({ ownerId: _owner, ...view }) => view)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { status: 200, body: { data, hasMore: false, nextCursor: null } };
});
