import {
  type CloudWatchLogsClient,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import { describe, expect, it } from "vitest";
import { recordFromEvent } from "../../lib/audit/record.ts";
import { chunkLogEvents, cloudWatchSink } from "../../lib/audit/sinks.ts";
import { sampleEvent } from "../support/audit.ts";

/**
 * CloudWatch Logs has no local emulator here, so the sink's calls are checked against
 * a recording stand-in for the client: which commands, in which order, with what input.
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

const meta = { $metadata: {} };
const day = Date.parse("2025-03-01T12:00:00.000Z");

describe("the CloudWatch Logs sink", () => {
  it("creates its day/container stream once, then puts events in timestamp order", async () => {
    const { client, calls } = fakeLogs(() => ({}));
    const sink = cloudWatchSink(client, "/micropay/audit", "c0ffee", () => day);
    const late = recordFromEvent(sampleEvent({ at: "2025-03-01T12:00:01.000Z" }));
    const early = recordFromEvent(sampleEvent({ at: "2025-03-01T12:00:00.000Z" }));
    await sink.write([late, early]);
    await sink.write([early]);
    expect(calls.map((c) => (c as object).constructor.name)).toEqual([
      "CreateLogStreamCommand",
      "PutLogEventsCommand",
      "PutLogEventsCommand",
    ]);
    const create = calls[0] as CreateLogStreamCommand;
    expect(create.input).toEqual({
      logGroupName: "/micropay/audit",
      logStreamName: "2025/03/01/audit-c0ffee",
    });
    const put = calls[1] as PutLogEventsCommand;
    expect(put.input.logStreamName).toBe("2025/03/01/audit-c0ffee");
    expect(put.input.logEvents?.map((e) => JSON.parse(e.message ?? "").eventId)).toEqual([
      early.eventId,
      late.eventId,
    ]);
    expect(put.input.logEvents?.[0]?.timestamp).toBe(Date.parse(early.at));
  });

  it("tolerates a stream another container created, and recreates a deleted one", async () => {
    let puts = 0;
    const { client, calls } = fakeLogs((cmd) => {
      if (cmd instanceof CreateLogStreamCommand) {
        throw new ResourceAlreadyExistsException({ message: "exists", ...meta });
      }
      if (cmd instanceof PutLogEventsCommand && ++puts === 2) {
        throw new ResourceNotFoundException({ message: "gone", ...meta });
      }
      return {};
    });
    const sink = cloudWatchSink(client, "g", "c", () => day);
    const r = recordFromEvent(sampleEvent());
    await sink.write([r]);
    await sink.write([r]);
    expect(calls.map((c) => (c as object).constructor.name)).toEqual([
      "CreateLogStreamCommand",
      "PutLogEventsCommand",
      "PutLogEventsCommand",
      "CreateLogStreamCommand",
      "PutLogEventsCommand",
    ]);
  });

  it("fails the write when CloudWatch rejects events, so they are retried, not lost", async () => {
    const { client } = fakeLogs((cmd) =>
      cmd instanceof PutLogEventsCommand
        ? { rejectedLogEventsInfo: { tooOldLogEventEndIndex: 0 } }
        : {},
    );
    const sink = cloudWatchSink(client, "g", "c", () => day);
    await expect(sink.write([recordFromEvent(sampleEvent())])).rejects.toThrow(/rejected/);
  });

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
