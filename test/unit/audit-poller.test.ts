import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { mapStreamRecord } from "../../lib/audit/record.ts";
import { invokesAuditConsumer, restoreEmptyMaps } from "../../local/stream-poller.ts";

describe("the local stream poller's record shape", () => {
  it("restores the empty maps the Streams client drops, so images unmarshall as in Lambda", () => {
    const fromSdk = {
      SequenceNumber: "7",
      NewImage: {
        type: { S: "audit_event" },
        event: { M: { targets: {}, actor: { M: { roles: { L: [] }, meta: {} } } } },
        list: { L: [{}, { S: "x" }] },
      },
    };
    const fixed = restoreEmptyMaps(fromSdk);
    expect(fixed.SequenceNumber).toBe("7");
    expect(() => unmarshall(fromSdk.NewImage as never)).toThrow();
    expect(unmarshall(fixed.NewImage as never)).toEqual({
      type: "audit_event",
      event: { targets: {}, actor: { roles: [], meta: {} } },
      list: [{}, "x"],
    });
  });
});

describe("the local stream poller's filter (the CDK mapping's, lib/audit/stream-filter.ts)", () => {
  const record = (eventName: "INSERT" | "MODIFY" | "REMOVE", type?: string): DynamoDBRecord => ({
    eventID: "1",
    eventName,
    dynamodb: {
      SequenceNumber: "1",
      Keys: { pk: { S: "k" } },
      ...(type === undefined ? {} : { NewImage: { pk: { S: "k" }, type: { S: type } } }),
      ...(eventName === "INSERT"
        ? {}
        : { OldImage: { pk: { S: "k" }, type: { S: "audit_event" } } }),
    },
  });

  it("lets an audit outbox INSERT through", () => {
    expect(invokesAuditConsumer(record("INSERT", "audit_event"))).toBe(true);
  });

  it("drops other items, MODIFY and REMOVE (what the consumer ignores)", () => {
    expect(invokesAuditConsumer(record("INSERT", "account"))).toBe(false);
    expect(invokesAuditConsumer(record("INSERT"))).toBe(false);
    expect(invokesAuditConsumer(record("MODIFY", "audit_event"))).toBe(false);
    expect(invokesAuditConsumer(record("REMOVE"))).toBe(false);
  });

  it("agrees with the consumer's mapping on every case", () => {
    const cases = [
      record("INSERT", "account"),
      record("INSERT"),
      record("MODIFY", "audit_event"),
      record("REMOVE"),
    ];
    for (const r of cases) expect(mapStreamRecord(r).kind).toBe("ignored");
  });
});
