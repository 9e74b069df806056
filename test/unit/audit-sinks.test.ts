import { type CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { describe, expect, it } from "vitest";
import { recordFromEvent } from "../../lib/audit/record.ts";
import { chunkLogEvents, cloudWatchSink } from "../../lib/audit/sinks.ts";
import { sampleEvent } from "../support/audit.ts";

/**
 * The CloudWatch Logs sink against the real service's emulator (moto) is tested in
 * test/integration/aws-emulated.test.ts: stream creation, a stream made elsewhere or
 * deleted, events CloudWatch rejects, the lookup by event id. What moto cannot show
 * is checked here with a recording stand-in for the client: the lookup's exact
 * FilterLogEvents input (moto ignores JSON filter patterns), and the pure batching.
 */
function fakeLogs(behaviour: (cmd: unknown, calls: unknown[]) => unknown) {
  const calls: unknown[] = [];
  const client = {
    send: async (cmd: unknown) => {
      calls.push(cmd);
      return behaviour(cmd, calls);
    },
  } as unknown as CloudWatchLogsClient;
  return { client, calls };
}

describe("the CloudWatch Logs sink", () => {
  it("finds an already written record by event id in its exact millisecond", async () => {
    const r = recordFromEvent(sampleEvent());
    const { client, calls } = fakeLogs((cmd) =>
      cmd instanceof FilterLogEventsCommand
        ? { events: [{ message: JSON.stringify(r), timestamp: Date.parse(r.at) }] }
        : {},
    );
    expect(await cloudWatchSink(client, "g", "c").contains(r)).toBe(true);
    const filter = calls[0] as FilterLogEventsCommand;
    expect(filter.input).toMatchObject({
      logGroupName: "g",
      startTime: Date.parse(r.at),
      endTime: Date.parse(r.at) + 1,
      filterPattern: `{ $.eventId = "${r.eventId}" }`,
    });
  });

  it("splits batches at PutLogEvents' limits (count, bytes, 24 hours)", () => {
    const ev = (t: number, size = 10) => ({ timestamp: t, message: "x".repeat(size) });
    expect(chunkLogEvents([ev(3), ev(1), ev(2)]).map((c) => c.map((e) => e.timestamp))).toEqual([
      [1, 2, 3],
    ]);
    expect(chunkLogEvents(Array.from({ length: 10_001 }, (_, i) => ev(i)))).toHaveLength(2);
    expect(chunkLogEvents([ev(1, 600_000), ev(2, 600_000)])).toHaveLength(2);
    expect(chunkLogEvents([ev(0), ev(24 * 3600_000)])).toHaveLength(2);
  });
});
