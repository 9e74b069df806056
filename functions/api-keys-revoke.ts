import { revokeApiKey } from "../lib/auth/api-keys.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { apiKeysRevokeRoute } from "../lib/routes/api-keys.ts";
import { dynamoApiKeyStore } from "../lib/store/api-keys.ts";

export const handler = httpHandler(apiKeysRevokeRoute, async (req) => {
  await revokeApiKey(req, { id: req.params.keyId }, { store: dynamoApiKeyStore });
  return { status: 204 };
});
