import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createMicroPayClient } from "../client/index.ts";
import { type Delivery, startListener } from "../lib/webhooks/listen.ts";

/**
 * The five-minute walkthrough, with the typed client: register a payer and a
 * merchant, fund the payer (admin), let the merchant's loopback receiver (what
 * `npm run webhooks -- listen` runs) get the payment's signed webhook, pay, refund,
 * hold and capture, read the statement, and find the payment's audit record. README.md
 * shows this file; a test runs it.
 */
export async function walkthrough(opts: {
  baseUrl: string;
  /** `code`: the admin's current TOTP code (admin routes need a second factor). */
  admin: { email: string; password: string; code: () => string | Promise<string> };
  auditLog: string;
}) {
  const { baseUrl } = opts;
  const run = Date.now().toString(36);
  const password = "a long and private passphrase";

  // 1. Anyone can register: a customer with one USD account.
  const signup = createMicroPayClient({ baseUrl });
  const { data: payer } = await signup.POST("/v1/auth/register", {
    body: { email: `payer-${run}@example.com`, password },
  });
  const { data: shop } = await signup.POST("/v1/auth/register", {
    body: { email: `shop-${run}@example.com`, password },
  });
  if (!payer || !shop) throw new Error("registration failed");

  // 2. An admin funds the payer ($100.00 from the system funding account) and makes
  //    the shop a merchant (roles reach a token at the next login or refresh). Admins
  //    log in with a second factor: the password, then a TOTP code. Dual control: a
  //    deposit of MICROPAY_DUAL_CONTROL_MINOR ($10,000.00) or more, or a grant of admin
  //    or auditor, would answer 202 {approvalId, status: "pending_approval"} and wait
  //    for another admin's POST /v1/admin/approvals/{approvalId}/approve.
  const admin = createMicroPayClient({ baseUrl });
  await admin.login(opts.admin.email, opts.admin.password, { code: opts.admin.code });
  await admin.POST("/v1/accounts/{accountId}/deposits", {
    params: { path: { accountId: payer.account.id } },
    body: { amount: 10_000, reference: "welcome credit" },
  });
  await admin.PUT("/v1/admin/users/{userId}/roles", {
    params: { path: { userId: shop.user.id } },
    body: { roles: ["merchant"] },
  });

  // 3. The shop registers a webhook endpoint for payments (its secret is shown once)
  //    and listens on loopback, as `npm run webhooks -- listen --port 4000 --secret
  //    whsec_…` does: each delivery is verified with the standardwebhooks package.
  const merchant = createMicroPayClient({ baseUrl });
  await merchant.login(`shop-${run}@example.com`, password);
  const port = await freeLoopbackPort();
  const { data: endpoint } = await merchant.POST("/v1/webhook-endpoints", {
    body: { url: `http://127.0.0.1:${port}/`, enabledEvents: ["payment.succeeded"] },
  });
  if (!endpoint) throw new Error("endpoint refused");
  const deliveries: Delivery[] = [];
  const listener = await startListener({
    port,
    secret: endpoint.secret,
    onDelivery: (d) => deliveries.push(d),
  });

  // 4. The payer pays the shop $25.00 (the client adds an Idempotency-Key).
  const alice = createMicroPayClient({ baseUrl });
  await alice.login(`payer-${run}@example.com`, password);
  const { data: payment, error } = await alice.POST("/v1/payments", {
    body: {
      sourceAccountId: payer.account.id,
      destinationAccountId: shop.account.id,
      amount: 2_500,
      currency: "USD",
      description: "Order 1001",
    },
  });
  if (!payment) throw new Error(`payment refused: ${JSON.stringify(error)}`);
  // Within a moment the shop's receiver has the signed payment.succeeded event.
  const webhook = await until(() => deliveries.find((d) => d.objectId === payment.id));
  await listener.close();

  // 5. The merchant refunds $5.00 of it.
  const { data: refund } = await merchant.POST("/v1/payments/{paymentId}/refunds", {
    params: { path: { paymentId: payment.id } },
    body: { amount: 500, reason: "one item out of stock" },
  });

  // 6. A hold: the payer authorizes $30.00 now (capture: false: its `available` drops,
  //    no money moves); the shop captures $20.00 when it ships, and the other $10.00
  //    is released at once. A hold not captured by `captureBefore` (7 days) expires.
  const { data: hold } = await alice.POST("/v1/payments", {
    body: {
      sourceAccountId: payer.account.id,
      destinationAccountId: shop.account.id,
      amount: 3_000,
      currency: "USD",
      description: "Order 1002",
      capture: false,
    },
  });
  if (!hold) throw new Error("hold refused");
  const { data: captured } = await merchant.POST("/v1/payments/{paymentId}/capture", {
    params: { path: { paymentId: hold.id } },
    body: { amount: 2_000 },
  });

  // 7. The payer's statement: balance and ledger entries, newest first.
  const { data: account } = await alice.GET("/v1/accounts/{accountId}", {
    params: { path: { accountId: payer.account.id } },
  });
  const { data: statement } = await alice.GET("/v1/accounts/{accountId}/entries", {
    params: { path: { accountId: payer.account.id }, query: { limit: 10 } },
  });

  // 8. The payment's audit record, as CloudWatch Logs would return it (locally: a
  //    file the stream poller appends to within a moment of the commit).
  const auditRecord = await auditRecordOf(opts.auditLog, payment.id);

  return {
    payment,
    webhook,
    refund,
    hold,
    captured,
    balance: account?.balance,
    available: account?.available,
    statement,
    auditRecord,
  };
}

/** A free port on 127.0.0.1 (the receiver's URL is registered before it listens). */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function until<T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T | undefined> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

async function auditRecordOf(auditLog: string, paymentId: string) {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const record = readFileSync(auditLog, "utf8")
      .split("\n")
      .filter((line) => line.includes(paymentId))
      .map((line) => JSON.parse(JSON.parse(line).message))
      .find((r) => r.action === "payment.created");
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return undefined;
}
