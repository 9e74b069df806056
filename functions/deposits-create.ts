import { requestDeposit } from "../lib/auth/approvals.ts";
import { depositRequestDeps } from "../lib/aws/approvals.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { depositsCreateRoute } from "../lib/routes/ledger.ts";

const deps = depositRequestDeps();

// 201 with the deposit, or 202 with the approval dual control made of it.
export const handler = httpHandler(depositsCreateRoute, (req) =>
  requestDeposit(ctxOf(req), { ...req.params, ...req.body }, deps),
);
