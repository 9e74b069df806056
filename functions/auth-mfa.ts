import { completeMfaLogin } from "../lib/auth/mfa.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { mfaLoginRoute } from "../lib/routes/mfa.ts";

const deps = identityDeps();

export const handler = httpHandler(mfaLoginRoute, async (req) => ({
  status: 200,
  body: await completeMfaLogin(ctxOf(req), req.body, deps),
}));
