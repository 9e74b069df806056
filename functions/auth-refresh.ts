import { refresh } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { refreshRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(refreshRoute, async (req) => ({
  status: 200,
  body: await refresh(req, req.body.refreshToken),
}));
