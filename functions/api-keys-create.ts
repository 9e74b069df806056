import { createApiKey } from "../lib/auth/api-keys.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { apiKeysCreateRoute } from "../lib/routes/api-keys.ts";
import { dynamoApiKeyStore } from "../lib/store/api-keys.ts";

export const handler = httpHandler(apiKeysCreateRoute, async (req) => {
  const created = await createApiKey(req, req.body, { store: dynamoApiKeyStore });
  const { ownerId: _owner, ...view } = created;
  return { status: 201, body: view };
});
