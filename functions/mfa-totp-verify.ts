import { verifyTotp } from "../lib/auth/mfa.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { totpVerifyRoute } from "../lib/routes/mfa.ts";

const deps = identityDeps();

export const handler = httpHandler(totpVerifyRoute, async (req) => ({
  status: 200,
  body: await verifyTotp(ctxOf(req), req.body, deps),
}));
