import { approve } from "../lib/auth/approvals.ts";
import { approvalDeps } from "../lib/aws/approvals.ts";
import { ctxOf } from "../lib/context.ts";
import { viewHandler } from "../lib/http/handler.ts";
import { approvalsApproveRoute } from "../lib/routes/approvals.ts";

const deps = approvalDeps();

export const handler = viewHandler(approvalsApproveRoute, (req) =>
  approve(ctxOf(req), req.params, deps),
);
