/**
 * Grants of the synthesized policies that no path of the artifacts tier uses, each
 * with its reason (test/artifacts/suites.test.ts, "IAM proven by use"). The list is
 * exact: a grant missing here fails the test, and so does an entry that no longer
 * excuses anything (a narrowed policy, or a path now driven), unless it is marked
 * `sometimes` (its use depends on a failure the suites do not force).
 *
 * The reason is always one of: the platform uses the grant, not the function's code
 * (logs, X-Ray, the stream's event source mapping, a deploy-time custom resource), the
 * local stand-in has no counterpart of the call, or the call is on a failure path the
 * suites do not force (`sometimes`). No grant is here for being broader than the
 * function: route rows declare their exact table actions (`table` in lib/routes/*.ts),
 * and `Data.statementsFor` (infra/constructs/data.ts) grants just those.
 */
export interface IamException {
  readonly actions: readonly string[];
  /** Resource by construct path (`Data/Table/index/gsi1`), `own log group` or `*`. */
  readonly resource: string;
  /** The functions it excuses (local names); every function when absent. */
  readonly functions?: readonly string[];
  readonly reason: string;
  /** Used only after a failure or a retry the suites do not force: may or may not be used. */
  readonly sometimes?: true;
}

export const IAM_EXCEPTIONS: readonly IamException[] = [
  // The platform's calls.
  {
    actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
    resource: "own log group",
    reason:
      "The Lambda service writes the function's stdout and stderr to its log group with the execution role; the code never calls CloudWatch Logs (locally: MICROPAY_DATA_DIR/functions/<name>.log).",
  },
  {
    actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    resource: "*",
    reason:
      "Active tracing: the Lambda service sends the trace segments with the execution role; the code makes no X-Ray call.",
  },
  {
    actions: [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ],
    resource: "Data/Table/stream",
    functions: ["audit"],
    reason:
      "The event source mapping reads the table's stream with the function's role and invokes it with the records; locally local/stream-poller.ts does that, outside the function.",
  },
  {
    actions: ["sqs:SendMessage"],
    resource: "Audit/DeadLetters",
    functions: ["audit"],
    reason:
      "The event source mapping's on-failure destination: Lambda parks a failed batch's description with the function's role; locally the poller's dead-letter file.",
  },
  {
    actions: ["kms:GenerateDataKey", "kms:Decrypt"],
    resource: "Keys/Messaging",
    functions: ["audit"],
    reason: "The dead-letter queue's key, used by SQS when Lambda parks a failed batch (above).",
  },
  {
    actions: ["logs:CreateLogStream"],
    resource: "Audit/AuditLog",
    functions: ["audit"],
    reason:
      "cloudWatchSink creates its stream (per container and day) before PutLogEvents; the local stand-in, the audit log file, has no streams (the CloudWatch sink is tested against moto on main).",
  },
  {
    actions: ["logs:FilterLogEvents"],
    resource: "Audit/AuditLog",
    functions: ["audit"],
    sometimes: true,
    reason:
      "Only when a stale `pending` dedupe marker is reclaimed after a crash between write and mark (lib/audit/consumer.ts); the suites here crash nothing (test/reliability/audit-tamper.test.ts does, on the sources stack).",
  },
  {
    actions: ["secretsmanager:PutSecretValue"],
    resource: "SigningKey/Secret",
    functions: ["SigningKey/Generator"],
    reason:
      "The signing key generator is a CloudFormation custom resource run once at deploy; locally local/identity.ts makes the key file. Its bundle is loaded (cold start checked), never invoked.",
  },
  {
    actions: ["kms:GenerateDataKey", "kms:Decrypt"],
    resource: "Keys/Secrets",
    functions: ["SigningKey/Generator"],
    reason: "The secret's key, used by Secrets Manager when the generator writes the key (above).",
  },
  // The audit consumer's dedupe markers on failure paths.
  {
    actions: ["dynamodb:GetItem", "dynamodb:DeleteItem"],
    resource: "Data/Table",
    functions: ["audit"],
    sometimes: true,
    reason:
      "lib/audit/dedupe-dynamodb.ts reads a marker only when its claim finds one (a redelivered batch) and deletes one only after a failed sink write; neither is forced here.",
  },
  // Idempotency's error path.
  {
    actions: ["dynamodb:GetItem"],
    resource: "Data/Table",
    functions: ["payments-create"],
    sometimes: true,
    reason:
      "A payment reads nothing before its transaction; only a request answered with an error that is not stored (400, 403, 404, an outage) reads the idempotency record, to replay a standing answer instead (lib/http/idempotency.ts readAnswer). The stack tier forces those (test/reliability/ledger-faults.test.ts); whether the artifacts tier does depends on its flows.",
  },
  // API keys: the last-use write is rate-limited per key.
  {
    actions: ["dynamodb:UpdateItem"],
    resource: "Data/Table",
    functions: [
      "accounts-list",
      "accounts-get",
      "entries-list",
      "payments-create",
      "payments-get",
      "payments-list",
      "refunds-create",
      "refunds-list",
      "transfers-get",
    ],
    sometimes: true,
    reason:
      "A request made with an API key writes its last-use item (APIKEYUSE#, ApiKeyUse) at most once a minute per key and container (lib/auth/api-keys.ts shouldTouch): which functions write depends on which route each container saw a key on first, and writers' own UpdateItem grants (refunds-create, payments-create) cover the call as well.",
  },
  // Webhooks (issue 14). The dispatcher's stream reads and on-failure queue are the
  // platform's, as for the audit consumer.
  {
    actions: [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ],
    resource: "Data/Table/stream",
    functions: ["Webhooks/Dispatcher"],
    reason:
      "The event source mapping reads the table's stream with the dispatcher's role; locally the stream poller's webhook subscription does that, outside the function.",
  },
  {
    actions: ["sqs:SendMessage"],
    resource: "Webhooks/DeadLetters",
    functions: ["Webhooks/Dispatcher"],
    reason:
      "The dispatcher mapping's on-failure destination, used by Lambda with the function's role; locally the poller's webhook dead-letter file.",
  },
  {
    actions: ["kms:GenerateDataKey", "kms:Decrypt"],
    resource: "Keys/Messaging",
    functions: ["Webhooks/Dispatcher"],
    reason:
      "The dispatcher dead-letter queue's key, used by SQS when Lambda parks a batch (above).",
  },
  // The artifacts suites register no webhook endpoint: deliveries are driven by
  // test/integration/webhooks.test.ts on the sources stack.
  {
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
    resource: "Data/Table",
    functions: ["Webhooks/Dispatcher", "Webhooks/Sweeper"],
    sometimes: true,
    reason:
      "Deliveries and attempts are written only for an event some owner has an endpoint for; the artifacts suites register none (the contract replay's endpoint belongs to a user with no movement). test/integration/webhooks.test.ts drives them on the sources stack.",
  },
  {
    actions: ["dynamodb:Query"],
    resource: "Data/Table/index/gsi1",
    functions: ["Webhooks/Sweeper"],
    sometimes: true,
    reason:
      "The sweep runs on a timer (MICROPAY_WEBHOOK_SWEEP_SECONDS, 60 s by default); whether a run falls inside the artifacts tier depends on its duration.",
  },
  // Webhook retries: a failed attempt queues its next one (SQS). In artifacts mode each
  // bundle runs in its own process, apart from the stack's in-process retry queue
  // (local/retry-queue.ts), so the bundles queue nothing (their retries wait for the
  // sweep) and the retry function is never invoked.
  {
    actions: ["sqs:SendMessage"],
    resource: "Webhooks/RetryQueue",
    functions: ["Webhooks/Dispatcher", "Webhooks/Sweeper", "Webhooks/Retries"],
    reason:
      "The retry queue has no local counterpart a bundle's process can reach (local/artifacts.ts maps MICROPAY_WEBHOOK_RETRY_QUEUE_URL to nothing); test/integration/webhook-sqs.test.ts sends to it through the same adapter against moto's SQS, and the sources stack's in-process queue drives the retries in test/integration/webhooks.test.ts.",
  },
  {
    actions: [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ],
    resource: "Webhooks/RetryQueue",
    functions: ["Webhooks/Retries"],
    reason:
      "The retry queue's event source mapping receives and deletes with the function's role; locally the stack's in-process queue hands the batches to the handler, outside the function.",
  },
  {
    actions: ["kms:GenerateDataKey", "kms:Decrypt"],
    resource: "Keys/Messaging",
    functions: ["Webhooks/Sweeper", "Webhooks/Retries"],
    reason: "The retry queue's key, used by SQS for the sends and receives above.",
  },
  {
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    resource: "Data/Table",
    functions: ["Webhooks/Retries"],
    reason:
      "The retry function is invoked only by the retry queue's mapping, which the artifacts mode has no counterpart of (above); its handler runs in-process on the sources stack (test/integration/webhooks.test.ts).",
  },
  {
    actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    resource: "Keys/Table",
    functions: ["Webhooks/Retries"],
    reason:
      "The table key's use for the retry function's table reads and writes and for opening endpoints' sealed signing secrets (the SecretBox), never run (above).",
  },
  {
    actions: ["dynamodb:GetItem", "dynamodb:DeleteItem"],
    resource: "Data/Table",
    functions: [
      "webhooks-get",
      "webhooks-update",
      "webhooks-delete",
      "webhooks-rotate",
      "webhooks-deliveries",
    ],
    sometimes: true,
    reason:
      "Webhook endpoints are the customer's and merchant's: the contract replays their examples as the seeded admin, whom the route refuses (403) before any read, and no other artifacts suite manages endpoints. test/integration/webhooks.test.ts drives the reads and the delete on the sources stack.",
  },
  {
    actions: ["kms:Encrypt", "kms:GenerateDataKey"],
    resource: "Keys/Table",
    functions: ["Webhooks/Dispatcher", "Webhooks/Sweeper"],
    sometimes: true,
    reason:
      "The table key's use for the delivery writes above (PutItem/UpdateItem of deliveries and attempts), which the artifacts suites never cause.",
  },
  {
    actions: ["dynamodb:PutItem"],
    resource: "Data/Table",
    functions: ["webhooks-update", "webhooks-rotate"],
    sometimes: true,
    reason:
      "The contract test replays these on an endpoint id that does not exist (a documented 404): the endpoint is read, never written.",
  },
  {
    actions: ["dynamodb:Query"],
    resource: "Data/Table",
    functions: ["webhooks-deliveries"],
    sometimes: true,
    reason:
      "The contract test replays it on an endpoint id that does not exist (a documented 404): the attempts are never queried.",
  },
  {
    actions: ["dynamodb:UpdateItem"],
    resource: "Data/Table",
    functions: ["mfa-totp-disable"],
    sometimes: true,
    reason:
      "Disabling TOTP writes only after a current code of an enrolled user; the artifacts suites call the route only in the role matrix, with no valid code, so it answers before writing. test/security/auth-mfa.test.ts drives the write on the sources stack.",
  },
  // Holds (issue 13): the release of expired holds runs only when a movement or an
  // account view meets one, and the hold sweeper on its timer.
  {
    actions: ["dynamodb:Query"],
    resource: "Data/Table",
    functions: [
      "accounts-get",
      "accounts-list",
      "payments-create",
      "withdrawals-create",
      "refunds-create",
    ],
    sometimes: true,
    reason:
      "An account's expired holds are queried only for an account that holds money (its view) or when a movement is refused for funds while the account holds money (lib/ledger/posting.ts commitOrRefuse); the artifacts suites may leave no hold open. test/integration/holds.test.ts and test/unit/ledger-holds.test.ts drive both.",
  },
  {
    actions: ["dynamodb:DeleteItem"],
    resource: "Data/Table",
    functions: ["payments-create", "withdrawals-create", "refunds-create"],
    sometimes: true,
    reason:
      "Releasing an expired hold deletes its HOLD# item; a movement does that only when expired holds alone stand between it and the funds (test/integration/holds.test.ts).",
  },
  {
    actions: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    resource: "Data/Table",
    functions: ["payments-capture", "payments-cancel"],
    sometimes: true,
    reason:
      "A capture or cancel writes only for an open hold; the contract replays their examples on a payment id that does not exist (a documented 404), and whether the walkthrough settles a hold with each depends on its steps. test/integration/holds.test.ts drives both.",
  },
  {
    actions: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
    ],
    resource: "Data/Table",
    functions: ["Holds/Sweeper"],
    sometimes: true,
    reason:
      "The hold sweep runs on a timer (MICROPAY_HOLD_SWEEP_SECONDS, 60 s by default) and writes only for an expired hold; whether a run falls inside the artifacts tier, and finds one, depends on its duration.",
  },
  {
    actions: ["dynamodb:Query"],
    resource: "Data/Table/index/gsi1",
    functions: ["Holds/Sweeper"],
    sometimes: true,
    reason: "The sweep's query of the open holds by captureBefore (timer, above).",
  },
  {
    actions: ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
    resource: "Keys/Table",
    functions: ["Holds/Sweeper", "payments-capture", "payments-cancel"],
    sometimes: true,
    reason:
      "The table key's use for the hold writes above, which the artifacts suites may not cause.",
  },
];
