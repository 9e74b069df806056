/**
 * The audit trail's saved CloudWatch Logs Insights queries, over the JSON audit
 * records (fields `action`, `outcome`, `at`, `actor.userId`, `actor.roles`,
 * `targets.accountId`, `money.amount`, ...). The CDK stack saves each as an
 * AWS::Logs::QueryDefinition on the audit log group; the local audit tool runs the
 * same text against the local audit log. Keep every query to the simple subset both
 * understand: `fields`, `filter` (with `==`, `>`, `<`, `like`, `and`, `or`), `sort`, `limit`.
 *
 * Placeholders in angle brackets (`<userId>`, `<apiKeyId>`, `<accountId>`, `<from>`, `<to>`) and the
 * example threshold are edited by the person running the query.
 */
export interface AuditQuery {
  readonly name: string;
  readonly description: string;
  readonly query: string;
}

const FIELDS =
  "fields at, action, outcome, reason, actor.userId, actor.apiKeyId, actor.roles.0, actor.sourceIp, targets.accountId, money.amount, money.currency";

export const AUDIT_QUERIES: readonly AuditQuery[] = [
  {
    name: "actions-by-user",
    description: "Everything one user did. Replace <userId> (e.g. usr_...).",
    query: `${FIELDS}\n| filter actor.userId == "<userId>"\n| sort at desc\n| limit 1000`,
  },
  {
    name: "actions-by-api-key",
    description:
      "Everything done with one API key (requests made with it; its creation and revocation are under targets.apiKeyId). Replace <apiKeyId> (key_...).",
    query: `${FIELDS}\n| filter actor.apiKeyId == "<apiKeyId>" or targets.apiKeyId == "<apiKeyId>"\n| sort at desc\n| limit 1000`,
  },
  {
    name: "failed-logins",
    description: "Every failed login attempt (wrong password, unknown email, locked account).",
    query: `${FIELDS}\n| filter action like "auth.login" and outcome == "failure"\n| sort at desc\n| limit 1000`,
  },
  {
    name: "admin-actions",
    description: "Every action taken by a caller holding the admin role.",
    query: `${FIELDS}\n| filter actor.roles.0 == "admin" or actor.roles.1 == "admin" or actor.roles.2 == "admin" or actor.roles.3 == "admin"\n| sort at desc\n| limit 1000`,
  },
  {
    name: "movements-over-amount",
    description:
      "Money movements above a threshold in minor units (100000 = 1,000.00 USD); edit the number.",
    query: `${FIELDS}\n| filter money.amount > 100000\n| sort at desc\n| limit 1000`,
  },
  {
    name: "account-activity",
    description:
      "Everything touching one account, as target or as either side of a movement. Replace <accountId> (acc_...).",
    query: `${FIELDS}\n| filter targets.accountId == "<accountId>" or money.debitAccountId == "<accountId>" or money.creditAccountId == "<accountId>"\n| sort at desc\n| limit 1000`,
  },
  {
    name: "time-window",
    description:
      "Everything between two instants. Replace <from> and <to> with RFC 3339 UTC times (they sort as text).",
    query: `${FIELDS}\n| filter at > "<from>" and at < "<to>"\n| sort at asc\n| limit 10000`,
  },
];
