/**
 * A small interpreter for exactly the subset of the CloudWatch Logs Insights query
 * language the audit trail's saved queries use (lib/audit/queries.ts) and the narrowing
 * `filter` stage `npm run audit -- query` prepends for its flags, so that command
 * answers on the local audit log with the very text the CDK stack installs as query
 * definitions.
 *
 * Supported (one command per `|` stage, in any order, as in Insights):
 *
 *   fields a, b.c                  which columns to show (default: all fields)
 *   filter <condition>
 *   sort <field> [asc|desc]        default desc, as in Insights
 *   limit <n>
 *
 * Conditions: `==`, `<`, `>`, `>=`; `like "substring"`; `and`, `or`, parentheses;
 * double-quoted string and non-negative number literals.
 *
 * Fields are discovered from the JSON message as Insights does: nested members
 * joined with dots (`actor.userId`), array elements by index (`actor.roles.0`). A
 * comparison with a field the record does not have is false. Numbers compare as
 * numbers when both sides are numbers, otherwise as text. Anything outside this
 * subset is a QuerySyntaxError, never silently ignored.
 */

import type { AuditLogEvent } from "../../lib/audit/log-format.ts";

export class QuerySyntaxError extends Error {
  override name = "QuerySyntaxError";
}

type Scalar = string | number | boolean | null;
export type Row = Record<string, Scalar>;

// ---------------------------------------------------------------------------
// Tokens

type Tok =
  | { t: "id"; v: string }
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "op"; v: string }
  | { t: "punct"; v: string };

const KEYWORDS = new Set(["and", "or", "like", "asc", "desc"]);

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const c = src[i] ?? "";
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      const end = src.indexOf('"', i + 1);
      if (end === -1) throw new QuerySyntaxError("unterminated string");
      out.push({ t: "str", v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(rest);
    if (num) {
      out.push({ t: "num", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const op = /^(==|>=|<|>)/.exec(rest);
    if (op) {
      out.push({ t: "op", v: op[0] });
      i += op[0].length;
      continue;
    }
    if ("(),|".includes(c)) {
      out.push({ t: "punct", v: c });
      i++;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest);
    if (id) {
      out.push({ t: "id", v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new QuerySyntaxError(`unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Parse

type Expr =
  | { k: "and" | "or"; a: Expr; b: Expr }
  | { k: "cmp"; op: string; field: string; v: Scalar }
  | { k: "like"; field: string; pattern: string };

export type Command =
  | { c: "fields"; names: string[] }
  | { c: "filter"; expr: Expr }
  | { c: "sort"; field: string; desc: boolean }
  | { c: "limit"; n: number };

export interface ParsedQuery {
  readonly commands: Command[];
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new QuerySyntaxError("unexpected end of query");
    return t;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  isWord(w: string): boolean {
    const t = this.toks[this.i];
    return t?.t === "id" && t.v.toLowerCase() === w;
  }
  isPunct(p: string): boolean {
    const t = this.toks[this.i];
    return t?.t === "punct" && t.v === p;
  }
  field(): string {
    const t = this.next();
    if (t.t !== "id" || KEYWORDS.has(t.v.toLowerCase())) {
      throw new QuerySyntaxError("expected a field name");
    }
    return t.v;
  }
  expr(): Expr {
    let a = this.andExpr();
    while (this.isWord("or")) {
      this.i++;
      a = { k: "or", a, b: this.andExpr() };
    }
    return a;
  }
  andExpr(): Expr {
    let a = this.condition();
    while (this.isWord("and")) {
      this.i++;
      a = { k: "and", a, b: this.condition() };
    }
    return a;
  }
  condition(): Expr {
    if (this.isPunct("(")) {
      this.i++;
      const e = this.expr();
      if (!this.isPunct(")")) throw new QuerySyntaxError("expected )");
      this.i++;
      return e;
    }
    const field = this.field();
    if (this.isWord("like")) {
      this.i++;
      const t = this.next();
      if (t.t !== "str") throw new QuerySyntaxError("like needs a string");
      return { k: "like", field, pattern: t.v };
    }
    const op = this.next();
    if (op.t !== "op") throw new QuerySyntaxError("expected a comparison");
    const v = this.next();
    if (v.t !== "str" && v.t !== "num") throw new QuerySyntaxError("expected a string or number");
    return { k: "cmp", op: op.v, field, v: v.v };
  }
}

export function parseQuery(text: string): ParsedQuery {
  const stages: Tok[][] = [[]];
  for (const t of tokenize(text)) {
    if (t.t === "punct" && t.v === "|") stages.push([]);
    else stages.at(-1)?.push(t);
  }
  const commands: Command[] = [];
  for (const stage of stages) {
    if (stage.length === 0) throw new QuerySyntaxError("empty command");
    const p = new Parser(stage);
    const head = p.next();
    const name = head.t === "id" ? head.v.toLowerCase() : "";
    if (name === "fields") {
      const names = [p.field()];
      while (p.isPunct(",")) {
        p.next();
        names.push(p.field());
      }
      commands.push({ c: "fields", names });
    } else if (name === "filter") commands.push({ c: "filter", expr: p.expr() });
    else if (name === "sort") {
      const field = p.field();
      let desc = true;
      if (p.isWord("asc") || p.isWord("desc")) desc = (p.next() as { v: string }).v === "desc";
      commands.push({ c: "sort", field, desc });
    } else if (name === "limit") {
      const t = p.next();
      if (t.t !== "num" || !Number.isInteger(t.v) || t.v < 1) {
        throw new QuerySyntaxError("limit needs a positive integer");
      }
      commands.push({ c: "limit", n: t.v });
    } else {
      throw new QuerySyntaxError(`unsupported command ${JSON.stringify(name || "?")}`);
    }
    if (!p.done()) throw new QuerySyntaxError(`unexpected text after ${name}`);
  }
  return { commands };
}

// ---------------------------------------------------------------------------
// Evaluate

/** The fields Insights discovers in a log event's JSON message. */
function discoverFields(e: AuditLogEvent): Row {
  const row: Row = {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(e.message);
  } catch {
    return row;
  }
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, path ? `${path}.${i}` : String(i));
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else if (path) row[path] = v as Scalar;
  };
  walk(parsed, "");
  return row;
}

function compare(a: Scalar, b: Scalar): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

function evaluate(e: Expr, row: Row): boolean {
  switch (e.k) {
    case "and":
      return evaluate(e.a, row) && evaluate(e.b, row);
    case "or":
      return evaluate(e.a, row) || evaluate(e.b, row);
    case "like": {
      const v = row[e.field];
      return v !== undefined && v !== null && String(v).includes(e.pattern);
    }
    case "cmp": {
      const a = row[e.field];
      if (a === undefined || a === null || e.v === null) return false;
      const c = compare(a, e.v);
      if (e.op === "==") return c === 0;
      if (e.op === "<") return c < 0;
      if (e.op === ">") return c > 0;
      return c >= 0;
    }
  }
}

export interface RunOptions {
  /** The query's time range, like StartQuery's startTime/endTime (epoch ms, inclusive). */
  readonly startTime?: number;
  readonly endTime?: number;
}

/** Insights returns at most 10,000 rows. */
const MAX_ROWS = 10_000;

/** Runs a query over log events; rows hold the `fields` columns (or every field). */
export function runQuery(
  text: string,
  events: readonly AuditLogEvent[],
  opts: RunOptions = {},
): Row[] {
  const { commands } = parseQuery(text);
  let rows = events
    .filter(
      (e) =>
        (opts.startTime === undefined || e.timestamp >= opts.startTime) &&
        (opts.endTime === undefined || e.timestamp <= opts.endTime),
    )
    .map(discoverFields);
  let columns: string[] | undefined;
  let limit = MAX_ROWS;
  for (const cmd of commands) {
    if (cmd.c === "filter") rows = rows.filter((r) => evaluate(cmd.expr, r));
    else if (cmd.c === "fields") columns = cmd.names;
    else if (cmd.c === "sort") {
      const f = cmd.field;
      rows = [...rows].sort((x, y) => {
        const [a, b] = [x[f], y[f]];
        if (a === undefined || a === null) return b === undefined || b === null ? 0 : 1;
        if (b === undefined || b === null) return -1;
        return cmd.desc ? compare(b, a) : compare(a, b);
      });
    } else limit = Math.min(limit, cmd.n);
  }
  rows = rows.slice(0, limit);
  if (!columns) return rows;
  const cols = columns;
  return rows.map((r) =>
    Object.fromEntries(cols.filter((c) => r[c] !== undefined).map((c) => [c, r[c] as Scalar])),
  );
}
