import { me } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { meRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(meRoute, async (req) => {
  return { status: 200, body: await me(req.principal) };
});
