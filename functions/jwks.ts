import { publicJwks } from "../lib/auth/keys.ts";
import { installSigningKeySource } from "../lib/aws/signing-key.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { jwksRoute } from "../lib/routes/auth.ts";

installSigningKeySource();

export const handler = httpHandler(jwksRoute, async () => ({
  status: 200,
  body: await publicJwks(),
}));
