import type { LedgerContext } from "../../lib/ledger/port.ts";
import { Refusal, statusOf } from "../../lib/problems.ts";
import type { Role } from "../../lib/routes/types.ts";

/** A domain call's context for the unit tests: `userId` with `roles`, fixed request data. */
export const ctxOf = (userId: string, roles: Role[] = ["customer"]): LedgerContext => ({
  principal: { userId, roles, tokenId: "tok" },
  gatewayRequestId: "gw-1",
  requestId: "req-1",
  sourceIp: "127.0.0.1",
  userAgent: "unit",
});

/** What a caller would see: "status code" of a refusal, or "ok"; anything else throws. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof Refusal) return `${statusOf(e.code)} ${e.code}`;
    throw e;
  }
}
