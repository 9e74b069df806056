import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import { logger } from "../observability.ts";
import { auditItem } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";

/**
 * Writes a security event that has no state change of its own (failed login, denied
 * request, forged token) as a standalone outbox Put. Best effort: bounded in time and
 * never throws, so an audit hiccup never turns a 401 into a 500.
 */
export async function putSecurityEvent(event: AuditEvent, timeoutMs = 1_000): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  timer.unref?.();
  try {
    await docClient().send(
      new PutCommand({
        TableName: tableName(),
        Item: auditItem(event),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
      { abortSignal: abort.signal },
    );
  } catch (error) {
    logger.warn("security event not recorded", {
      action: event.action,
      errorName: error instanceof Error ? error.name : typeof error,
    });
  } finally {
    clearTimeout(timer);
  }
}
