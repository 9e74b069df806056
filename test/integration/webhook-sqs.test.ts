import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsRetryQueue } from "../../lib/aws/sqs-retry-queue.ts";
import { resetConfigForTests } from "../../lib/config.ts";
import { decodeRetryMessage, type RetryMessage } from "../../lib/webhooks/retry-queue.ts";
import { type Moto, startMoto } from "../support/moto.ts";

/**
 * The webhook retry queue's SQS adapter (lib/aws/sqs-retry-queue.ts) against moto's SQS
 * (test/support/moto.ts), on loopback: a message is invisible for its delay, then
 * received with the delivery it names; a delay beyond SQS's 15 minutes is capped, not
 * refused; the retry Lambda's handler (functions/webhook-retries.ts), configured as in
 * AWS with the queue's URL, chains a wait longer than that: a message received early
 * goes back on the queue with the remaining delay, and no attempt is made.
 */

let moto: Moto;
let sqs: SQSClient;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(moto.clientConfig);
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetConfigForTests();
  sqs?.destroy();
  await moto?.stop();
});

const setEnv = (vars: Record<string, string>) => {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in savedEnv)) savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  resetConfigForTests();
};

async function newQueue(name: string): Promise<string> {
  const out = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-${Date.now().toString(36)}` }),
  );
  if (!out.QueueUrl) throw new Error("CreateQueue returned no URL");
  return out.QueueUrl;
}

interface Received {
  Body: string;
  ReceiptHandle: string;
}

async function receive(queueUrl: string, waitSeconds = 0): Promise<Received[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
    }),
  );
  return (out.Messages ?? []).map((m) => ({
    Body: m.Body ?? "",
    ReceiptHandle: m.ReceiptHandle ?? "",
  }));
}

async function delayedCount(queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessagesDelayed);
}

const message = (dueInSeconds: number): RetryMessage => ({
  endpointId: "we_sqs",
  eventId: `evt_${Date.now().toString(36)}`,
  dueAt: new Date(Date.now() + dueInSeconds * 1000).toISOString(),
});

describe("webhook retry queue on SQS (moto)", () => {
  it("a message stays invisible for its delay, then names its delivery and due time", async () => {
    const url = await newQueue("retries");
    const queue = sqsRetryQueue(url, sqs);
    const m = message(2);
    await queue.send(m, 2);
    expect(await receive(url)).toEqual([]);
    expect(await delayedCount(url)).toBe(1);
    const end = Date.now() + 15_000;
    let got: Received[] = [];
    while (got.length === 0 && Date.now() < end) got = await receive(url, 1);
    expect(got.map((r) => decodeRetryMessage(r.Body))).toEqual([m]);
  }, 30_000);

  it("a delay beyond SQS's 15 minutes is capped (SQS itself refuses 901 s)", async () => {
    const url = await newQueue("capped");
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", DelaySeconds: 901 })),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
    const queue = sqsRetryQueue(url, sqs);
    await queue.send(message(3 * 3600), 3 * 3600);
    expect(await delayedCount(url)).toBe(1);
    expect(await receive(url)).toEqual([]);
  });

  it("the retry Lambda chains a long wait: an early message goes back with the remaining delay", async () => {
    const url = await newQueue("chain");
    // As in AWS: the queue's URL in the environment, the SDK's endpoint variable (moto).
    setEnv({ ...moto.env, MICROPAY_WEBHOOK_RETRY_QUEUE_URL: url });
    const { handler } = await import("../../functions/webhook-retries.ts");
    const early = message(2);
    const event = {
      Records: [{ messageId: "m-1", body: JSON.stringify({ v: 1, ...early }) }],
    } as unknown as SQSEvent;
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    // Back on the queue, invisible until its due time; then received again, unchanged.
    expect(await receive(url)).toEqual([]);
    expect(await delayedCount(url)).toBe(1);
    const end = Date.now() + 15_000;
    let got: Received[] = [];
    while (got.length === 0 && Date.now() < end) got = await receive(url, 1);
    expect(got.map((r) => decodeRetryMessage(r.Body))).toEqual([early]);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(early.dueAt) - 1000);
  }, 30_000);
});
