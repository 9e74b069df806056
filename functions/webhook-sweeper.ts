import { sweepDue } from "../lib/webhooks/dispatcher.ts";
import { dispatchDeps } from "../lib/webhooks/wiring.ts";

/**
 * Due-attempt sweep: every delivery whose next attempt (or expired claim) is due gets
 * attempted. In AWS an EventBridge rule runs it every minute; locally a timer
 * (MICROPAY_WEBHOOK_SWEEP_SECONDS) in local/stack.ts runs this same handler.
 */
export const handler = async (): Promise<{ attempted: number }> => {
  const deps = dispatchDeps();
  let attempted = 0;
  // A few pages per run; anything left is due on the next run.
  for (let page = 0; page < 10; page++) {
    const n = await sweepDue(deps, 100);
    attempted += n;
    if (n < 100) break;
  }
  return { attempted };
};
