/**
 * Takes the SDK's logger middleware off a client (every AWS SDK client MicroPay builds).
 *
 * MicroPay never hands the SDK a logger: its own logs are structured and redacted
 * (Powertools, lib/observability.ts). With none, the SDK's default is a logger that discards everything, yet
 * its logger middleware still builds, on every call, a copy of the command's input and
 * of its output with the sensitive fields masked (`schemaLogFilter`), only to pass it to
 * that logger. On a stream batch (GetRecords, thirteen records per payment) this was
 * about an eighth of the SDK's CPU in the local stack's profile; on a payment's
 * TransactWriteItems, a walk over all thirteen items. Nothing reads what it builds, so
 * the middleware goes (`middlewareStack.remove` by its name, the SDK's own API).
 */
export function withoutSdkLogger<C extends { middlewareStack: { remove(name: string): boolean } }>(
  client: C,
): C {
  client.middlewareStack.remove("loggerMiddleware");
  return client;
}
