/**
 * A small interpreter for the subset of the CloudWatch Logs Insights query language
 * the audit trail's saved queries use (lib/audit/queries.ts), so `npm run audit --
 * query` answers on the local audit log with the very text the CDK stack installs as
 * query definitions.
 *
 * Supported (one command per `|` stage, in any order, as in Insights):
 *
 *   fields a, b.c, @timestamp      which columns to show (default: all fields)
 *   display a, b                   same as fields, for the final columns
 *   filter <condition>             (`where` is an alias)
 *   sort <field> [asc|desc]        default desc, as in Insights
 *   limit <n>
 *
 * Conditions: `=` / `==`, `!=`, `<`, `<=`, `>`, `>=`; `like "substring"`, `like /regex/`
 * (a leading `(?i)` makes it case-insensitive), `not like`; `in [v1, v2]`, `not in`;
 * `and`, `or`, `not`, parentheses; string (double or single quoted) and number
 * literals; `ispresent(field)`.
 *
 * Fields are discovered from the JSON message as Insights does: nested members
 * joined with dots (`actor.userId`), array elements by index (`actor.roles.0`); plus
 * `@timestamp`, `@message`, `@logStream`, `@ingestionTime`. A comparison with a field
 * the record does not have is false (so `!=`, `not like` and `not in` do not match
 * records without it; the prefix `not (...)` is plain boolean negation).
 * Numbers compare as numbers when both sides are numbers, otherwise as text.
 * Anything outside this subset is a QuerySyntaxError, never silently ignored.
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
  | { t: "re"; v: RegExp }
  | { t: "op"; v: string }
  | { t: "punct"; v: string };

const KEYWORDS = new Set(["and", "or", "not", "like", "in", "asc", "desc"]);

export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const at = () => src[i] ?? "";
  while (i < src.length) {
    const c = at();
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const quote = c;
      let v = "";
      i++;
      while (i < src.length && at() !== quote) {
        if (at() === "\\") {
          i++;
          const n = at();
          v += n === "n" ? "\n" : n === "t" ? "\t" : n;
        } else v += at();
        i++;
      }
      if (at() !== quote) throw new QuerySyntaxError("unterminated string");
      i++;
      out.push({ t: "str", v });
      continue;
    }
    const prev = out.at(-1);
    if (c === "/" && prev?.t === "id" && prev.v.toLowerCase() === "like") {
      let body = "";
      i++;
      while (i < src.length && at() !== "/") {
        if (at() === "\\") {
          body += at();
          i++;
        }
        body += at();
        i++;
      }
      if (at() !== "/") throw new QuerySyntaxError("unterminated regular expression");
      i++;
      let flags = "";
      if (body.startsWith("(?i)")) {
        body = body.slice(4);
        flags = "i";
      }
      try {
        out.push({ t: "re", v: new RegExp(body, flags) });
      } catch {
        throw new QuerySyntaxError(`bad regular expression /${body}/`);
      }
      continue;
    }
    if (c === "`") {
      const end = src.indexOf("`", i + 1);
      if (end === -1) throw new QuerySyntaxError("unterminated `field`");
      out.push({ t: "id", v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num && !(prev?.t === "id" && !KEYWORDS.has(prev.v.toLowerCase()) && c === "-")) {
      out.push({ t: "num", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|=|<|>)/.exec(src.slice(i));
    if (op) {
      out.push({ t: "op", v: op[0] === "==" ? "=" : op[0] });
      i += op[0].length;
      continue;
    }
    if ("()[],|".includes(c)) {
      out.push({ t: "punct", v: c });
      i++;
      continue;
    }
    const id = /^[A-Za-z_@][A-Za-z0-9_@.]*/.exec(src.slice(i));
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
  | { k: "not"; a: Expr }
  | { k: "cmp"; op: string; a: Operand; b: Operand }
  | { k: "like"; a: Operand; pattern: string | RegExp; neg: boolean }
  | { k: "in"; a: Operand; values: Scalar[]; neg: boolean }
  | { k: "present"; field: string };

type Operand = { k: "field"; name: string } | { k: "lit"; v: Scalar };

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
  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new QuerySyntaxError("unexpected end of query");
    return t;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  isWord(w: string): boolean {
    const t = this.peek();
    return t?.t === "id" && t.v.toLowerCase() === w;
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t?.t === "punct" && t.v === p;
  }
  expectPunct(p: string): void {
    if (!this.isPunct(p)) throw new QuerySyntaxError(`expected ${p}`);
    this.i++;
  }
  field(): string {
    const t = this.next();
    if (t.t !== "id" || KEYWORDS.has(t.v.toLowerCase())) {
      throw new QuerySyntaxError("expected a field name");
    }
    return t.v;
  }
  literal(): Scalar {
    const t = this.next();
    if (t.t === "str" || t.t === "num") return t.v;
    throw new QuerySyntaxError("expected a string or number");
  }
  operand(): Operand {
    const t = this.peek();
    if (t?.t === "str" || t?.t === "num") return { k: "lit", v: this.literal() };
    return { k: "field", name: this.field() };
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
    let a = this.notExpr();
    while (this.isWord("and")) {
      this.i++;
      a = { k: "and", a, b: this.notExpr() };
    }
    return a;
  }
  notExpr(): Expr {
    if (this.isWord("not")) {
      this.i++;
      return { k: "not", a: this.notExpr() };
    }
    return this.cmp();
  }
  cmp(): Expr {
    if (this.isPunct("(")) {
      this.i++;
      const e = this.expr();
      this.expectPunct(")");
      return e;
    }
    if (this.isWord("ispresent")) {
      this.i++;
      this.expectPunct("(");
      const field = this.field();
      this.expectPunct(")");
      return { k: "present", field };
    }
    const a = this.operand();
    let negate = false;
    if (this.isWord("not")) {
      this.i++;
      negate = true;
      if (!this.isWord("like") && !this.isWord("in")) {
        throw new QuerySyntaxError("expected like or in after not");
      }
    }
    let e: Expr;
    if (this.isWord("like")) {
      this.i++;
      const t = this.next();
      if (t.t === "re" || t.t === "str") e = { k: "like", a, pattern: t.v, neg: negate };
      else throw new QuerySyntaxError("like needs a string or /regex/");
    } else if (this.isWord("in")) {
      this.i++;
      this.expectPunct("[");
      const values: Scalar[] = [this.literal()];
      while (this.isPunct(",")) {
        this.i++;
        values.push(this.literal());
      }
      this.expectPunct("]");
      e = { k: "in", a, values, neg: negate };
    } else {
      const t = this.next();
      if (t.t !== "op") throw new QuerySyntaxError("expected a comparison");
      e = { k: "cmp", op: t.v, a, b: this.operand() };
    }
    return e;
  }
  fieldList(): string[] {
    const names = [this.field()];
    while (this.isPunct(",")) {
      this.i++;
      names.push(this.field());
    }
    return names;
  }
}

export function parseQuery(text: string): ParsedQuery {
  const toks = tokenize(text);
  const stages: Tok[][] = [[]];
  for (const t of toks) {
    if (t.t === "punct" && t.v === "|") stages.push([]);
    else stages.at(-1)?.push(t);
  }
  const commands: Command[] = [];
  for (const stage of stages) {
    if (stage.length === 0) throw new QuerySyntaxError("empty command");
    const p = new Parser(stage);
    const head = p.next();
    const name = head.t === "id" ? head.v.toLowerCase() : "";
    if (name === "fields" || name === "display")
      commands.push({ c: "fields", names: p.fieldList() });
    else if (name === "filter" || name === "where") commands.push({ c: "filter", expr: p.expr() });
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

/** Insights' rendering of @timestamp: `YYYY-MM-DD HH:MM:SS.mmm` (UTC). */
export function insightsTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** The fields Insights discovers in a log event. */
export function discoverFields(e: AuditLogEvent): Row {
  const row: Row = {
    "@timestamp": insightsTime(e.timestamp),
    "@message": e.message,
  };
  if (e.logStreamName !== undefined) row["@logStream"] = e.logStreamName;
  if (e.ingestionTime !== undefined) row["@ingestionTime"] = insightsTime(e.ingestionTime);
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

function value(o: Operand, row: Row): Scalar | undefined {
  return o.k === "lit" ? o.v : row[o.name];
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
    case "not":
      return !evaluate(e.a, row);
    case "present":
      return row[e.field] !== undefined && row[e.field] !== null;
    case "like": {
      const v = value(e.a, row);
      if (v === undefined || v === null) return false;
      const s = String(v);
      const hit = typeof e.pattern === "string" ? s.includes(e.pattern) : e.pattern.test(s);
      return hit !== e.neg;
    }
    case "in": {
      const v = value(e.a, row);
      if (v === undefined || v === null) return false;
      return e.values.some((x) => compare(v, x) === 0) !== e.neg;
    }
    case "cmp": {
      const a = value(e.a, row);
      const b = value(e.b, row);
      if (a === undefined || b === undefined || a === null || b === null) return false;
      const c = compare(a, b);
      switch (e.op) {
        case "=":
          return c === 0;
        case "!=":
          return c !== 0;
        case "<":
          return c < 0;
        case "<=":
          return c <= 0;
        case ">":
          return c > 0;
        default:
          return c >= 0;
      }
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
