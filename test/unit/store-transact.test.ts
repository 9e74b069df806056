import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { failedLabels, labelled } from "../../lib/store/transact.ts";

const put = (label: string) => labelled(label, { Put: { TableName: "t", Item: { pk: label } } });

describe("transact refusals by label", () => {
  const items = [put("source"), put("destination"), put("entry"), put("entry"), put("audit")];

  it("names every failed condition by its item's label, with the item as it stood", () => {
    const failed = failedLabels(items, [
      { Code: "None" },
      { Code: "ConditionalCheckFailed", Item: marshall({ balance: 5, status: "frozen" }) },
      { Code: "None" },
      { Code: "ConditionalCheckFailed" },
      { Code: "None" },
    ]);
    expect([...failed.keys()]).toEqual(["destination", "entry"]);
    expect(failed.get("destination")).toEqual({ balance: 5, status: "frozen" });
    expect(failed.get("entry")).toBeUndefined();
    expect(failed.has("source")).toBe(false);
  });

  it("does not report conflicts or passed items as refusals", () => {
    const failed = failedLabels(items, [
      { Code: "TransactionConflict" },
      { Code: "ConditionalCheckFailed" },
      { Code: "None" },
      { Code: "None" },
      { Code: "ThrottlingError" },
    ]);
    expect([...failed.keys()]).toEqual(["destination"]);
  });
});
