import { enrolTotp } from "../lib/auth/mfa.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { totpEnrolRoute } from "../lib/routes/mfa.ts";

const deps = identityDeps();

export const handler = httpHandler(totpEnrolRoute, async (req) => ({
  status: 201,
  body: await enrolTotp(ctxOf(req), undefined, deps),
}));
