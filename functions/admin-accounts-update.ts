import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, setAccountStatus, setBalanceShards } from "../lib/ledger/service.ts";
import { adminAccountsUpdateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

/** Freeze or unfreeze, raise the balance shards (issue 18), or both (shards first). */
export const handler = viewHandler(adminAccountsUpdateRoute, async (req) => {
  const { accountId } = req.params;
  const { status, balanceShards } = req.body;
  let view =
    balanceShards !== undefined
      ? await setBalanceShards(ctxOf(req), { accountId, balanceShards }, deps)
      : undefined;
  if (status !== undefined) view = await setAccountStatus(ctxOf(req), { accountId, status }, deps);
  if (!view) throw new Error("unreachable: the body names status or balanceShards");
  return view;
});
