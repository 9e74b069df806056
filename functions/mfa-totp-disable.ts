import { disableTotp } from "../lib/auth/mfa.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { totpDisableRoute } from "../lib/routes/mfa.ts";

const deps = identityDeps();

export const handler = httpHandler(totpDisableRoute, async (req) => {
  await disableTotp(ctxOf(req), req.body, deps);
  return { status: 204 };
});
