import { createHash, createHmac } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from "@smithy/types";
import {
  encodeRetryMessage,
  queueDelay,
  type RetryMessage,
  type RetryQueue,
} from "../webhooks/retry-queue.ts";

/**
 * The retry queue in AWS: SQS SendMessage with a per-message delay (at most 900 s; the
 * consumer chains longer waits, lib/webhooks/retry-queue.ts).
 *
 * @aws-sdk/client-sqs is not among the project's packages, so this speaks SQS's JSON
 * protocol (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Action>`) over fetch, signed with
 * Signature V4 by the SDK's own signer (@smithy/signature-v4) with the SDK's default
 * credential chain (the Lambda role's session in AWS). The endpoint is the regional
 * one, or AWS_ENDPOINT_URL_SQS (as the SDK clients honour it; tests point it at moto).
 */
export interface SqsOptions {
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly credentials?: AwsCredentialIdentityProvider;
}

class Sha256 implements Checksum {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret ? createHmac("sha256", toBuffer(secret)) : createHash("sha256");
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    throw new Error("not resettable");
  }
}

function toBuffer(d: SourceData): Buffer {
  if (typeof d === "string") return Buffer.from(d, "utf8");
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

export class SqsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
  ) {
    super(`SQS ${code} (${status})`);
    this.name = "SqsError";
  }
}

/** A signed SQS JSON-protocol call; the answer's JSON, or SqsError. */
export function sqsClient(opts: SqsOptions) {
  const endpoint = new URL(
    opts.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS ?? `https://sqs.${opts.region}.amazonaws.com`,
  );
  const signer = new SignatureV4({
    service: "sqs",
    region: opts.region,
    credentials: opts.credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  return async function call<T = Record<string, unknown>>(
    action: string,
    input: Record<string, unknown>,
  ): Promise<T> {
    const body = JSON.stringify(input);
    const path = endpoint.pathname || "/";
    const signed = await signer.sign({
      method: "POST",
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path,
      query: {},
      headers: {
        host: endpoint.host,
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${action}`,
      },
      body,
    });
    const res = await fetch(new URL(path, endpoint), {
      method: "POST",
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!res.ok) {
      const type = String(json.__type ?? json.code ?? "UnknownError");
      throw new SqsError(type.split("#").pop() ?? type, res.status);
    }
    return json as T;
  };
}

/** The RetryQueue port on one SQS queue (its URL: MICROPAY_WEBHOOK_RETRY_QUEUE_URL). */
export function sqsRetryQueue(queueUrl: string, opts: SqsOptions): RetryQueue {
  const call = sqsClient(opts);
  return {
    async send(message: RetryMessage, delaySeconds: number) {
      await call("SendMessage", {
        QueueUrl: queueUrl,
        MessageBody: encodeRetryMessage(message),
        DelaySeconds: queueDelay(delaySeconds),
      });
    },
  };
}
