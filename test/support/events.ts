import type { ApiEvent, Context } from "../../lib/http/types.ts";

/** A minimal API Gateway REST (v1) proxy event for in-process handler tests. */
export function apiEvent(init: {
  method?: string;
  path?: string;
  resource?: string;
  headers?: Record<string, string>;
  body?: string | null;
  query?: Record<string, string> | null;
  params?: Record<string, string> | null;
  sourceIp?: string;
}): ApiEvent {
  const method = init.method ?? "GET";
  const path = init.path ?? "/";
  return {
    resource: init.resource ?? path,
    path,
    httpMethod: method,
    headers: init.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: init.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: init.params ?? null,
    stageVariables: null,
    body: init.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      requestId: "test-request-0001",
      httpMethod: method,
      path,
      resourcePath: init.resource ?? path,
      stage: "test",
      identity: { sourceIp: init.sourceIp ?? "203.0.113.7", userAgent: "vitest" },
    },
  } as unknown as ApiEvent;
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "test",
    functionVersion: "1",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:test",
    memoryLimitInMB: "1024",
    awsRequestId: "aws-req-1",
    logGroupName: "g",
    logStreamName: "s",
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
