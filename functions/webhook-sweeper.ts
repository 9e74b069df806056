import { sweepDue } from "../lib/webhooks/dispatcher.ts";
import { dispatchDeps } from "../lib/webhooks/wiring.ts";

/**
 * The safety-net sweep: every delivery overdue by more than MICROPAY_WEBHOOK_SWEEP_SECONDS
 * (what the retry queue path lost: an attempt whose process died, a message that could
 * not be sent) gets attempted. In AWS an EventBridge rule runs it every 10 minutes;
 * locally a timer (MICROPAY_WEBHOOK_SWEEP_SECONDS) in local/stack.ts runs this same
 * handler.
 */
export const handler = async (): Promise<{ attempted: number }> => {
  const deps = dispatchDeps();
  let attempted = 0;
  // A few pages per run; anything left is overdue on the next run.
  for (let page = 0; page < 10; page++) {
    const n = await sweepDue(deps, 100);
    attempted += n;
    if (n < 100) break;
  }
  return { attempted };
};
