import type { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { docClient } from "./client.ts";
import { cancellationReasons, withRetry } from "./retry.ts";

/**
 * The one TransactWriteItems of MicroPay. Users, sessions, lockout, idempotency, the
 * audit outbox and the ledger all write through `transact`.
 *
 * Every item carries a label (what it is: "source", "email", "idempotency",
 * "audit"...). A refusal comes back as the set of labels whose conditions failed,
 * with each item as it stood (ReturnValuesOnConditionCheckFailure), never as item
 * positions: callers rank labels, so adding an item cannot shift an answer.
 */

export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** One item of a transaction with the name its refusal is reported by. */
export interface Labelled {
  readonly label: string;
  readonly item: TransactItem;
}

export const labelled = (label: string, item: TransactItem): Labelled => ({ label, item });

type Item = Record<string, unknown>;

/** The outcome of a transaction: committed, or which labels' conditions failed. */
export type TransactOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Label -> the item as it stood (first failed item of that label), if any. */
      readonly failed: ReadonlyMap<string, Item | undefined>;
    };

/** Rounds of a transaction cancelled with condition failures beside unjudged items. */
const UNSETTLED_ROUNDS = 3;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends one TransactWriteItems, retrying conflicts and throttling (bounded, jittered,
 * lib/store/retry.ts; then 503 service_unavailable with Retry-After: a cancelled
 * transaction wrote nothing). A condition failure is returned, never retried, with
 * every failed label: callers rank the failures to give one answer, so an item
 * reported with neither "None" nor ConditionalCheckFailed (a TransactionConflict
 * beside a failed condition) was not judged and might hide a refusal that ranks
 * higher. Such a cancellation is sent again (it had no effect) a bounded number of
 * times. `token(attempt)` gives the ClientRequestToken of each attempt: the SDK's own
 * resend of one attempt after a lost response then cannot apply it twice.
 */
export async function transact(
  items: readonly Labelled[],
  token?: (attempt: number) => string,
): Promise<TransactOutcome> {
  const TransactItems = items.map((i) => i.item);
  let sent = 0;
  for (let round = 1; ; round++) {
    let last = sent;
    try {
      await withRetry((attempt) => {
        last = sent + attempt;
        return docClient().send(
          new TransactWriteCommand({
            TransactItems,
            ...(token ? { ClientRequestToken: token(last) } : {}),
          }),
        );
      });
      return { ok: true };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons?.some((r) => r.Code === "ConditionalCheckFailed")) throw error;
      const unsettled = reasons.some(
        (r) => r.Code !== undefined && r.Code !== "None" && r.Code !== "ConditionalCheckFailed",
      );
      if (unsettled && round < UNSETTLED_ROUNDS) {
        sent = last + 1;
        await sleep(10 + Math.floor(Math.random() * 20));
        continue;
      }
      return { ok: false, failed: failedLabels(items, reasons) };
    }
  }
}

/** Label -> old item of every ConditionalCheckFailed reason (exported for unit tests). */
export function failedLabels(
  items: readonly Labelled[],
  reasons: NonNullable<TransactionCanceledException["CancellationReasons"]>,
): Map<string, Item | undefined> {
  const failed = new Map<string, Item | undefined>();
  reasons.forEach((r, index) => {
    const label = items[index]?.label;
    if (r.Code !== "ConditionalCheckFailed" || label === undefined || failed.has(label)) return;
    failed.set(label, r.Item ? unmarshall(r.Item) : undefined);
  });
  return failed;
}
