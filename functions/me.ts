import { me } from "../lib/auth/service.ts";
import { unauthorized } from "../lib/http/errors.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { meRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(meRoute, async (req) => {
  if (!req.principal) throw unauthorized();
  return { status: 200, body: await me(req.principal) };
});
