import { unmarshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { restoreEmptyMaps } from "../../local/stream-poller.ts";

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
