/**
 * The artifacts tier: the contract test, the README walkthrough and the money and
 * identity smoke suites, run as they are (imported here, so they run in this order,
 * in this file) against a stack whose every function is its synthesized bundle
 * (test/support/global-artifacts-stack.ts). Their `inject("stack")` is that stack.
 */
import "../integration/contract.test.ts";
import "../integration/walkthrough.test.ts";
// Money: deposits, payments, refunds, idempotency, pagination; who may move what.
import "../integration/ledger-api.test.ts";
import "../security/money-authz.test.ts";
// Identity: registration, login, tokens, JWKS, admin:create; refresh rotation and reuse,
// logout, admin user lists; every route by every role.
import "../integration/auth-flow.test.ts";
import "../security/auth-sessions.test.ts";
import "../security/auth-role-matrix.test.ts";
