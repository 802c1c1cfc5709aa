/** OData $filter / $orderby / $select / $expand parsing and evaluation (the subset Dataverse supports). */

export class ODataError extends Error {
  constructor(
    message: string,
    readonly code = "0x80060888",
    readonly status = 400,
  ) {
    super(message);
  }
}

export type LitType = "string" | "number" | "guid" | "datetime" | "date" | "null" | "bool";
export type Operand = { k: "prop"; name: string } | { k: "lit"; v: string | number | boolean | null; lt: LitType };
export type Expr =
  | { t: "and" | "or"; l: Expr; r: Expr }
  | { t: "not"; e: Expr }
  | { t: "cmp"; op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; l: Operand; r: Operand }
  | { t: "fn"; name: "contains" | "startswith" | "endswith"; args: [Operand, Operand] }
  | { t: "in"; prop: string; values: Array<{ v: string; lt: LitType }> }
  | { t: "bool"; o: Operand };

type Tok =
  | { k: "(" | ")" | "," | "[" | "]" | "=" }
  | { k: "str"; v: string }
  | { k: "num"; v: number }
  | { k: "guid"; v: string }
  | { k: "dt"; v: string; date: boolean }
  | { k: "id"; v: string };
interface PTok {
  tok: Tok;
  pos: number;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;
const DT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?/;
const NUM = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDlLfF]?/;
const ID = /^[A-Za-z_][A-Za-z0-9_./]*/;

function syntax(pos: number, src: string): ODataError {
  return new ODataError(`Syntax error at position ${pos} in '${src}'.`);
}

function tokenize(src: string): PTok[] {
  const out: PTok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const rest = src.slice(i);
    if (c === "(" || c === ")" || c === "," || c === "[" || c === "]" || c === "=") {
      out.push({ tok: { k: c }, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let s = "";
      for (;;) {
        if (j >= src.length) throw new ODataError(`There is an unterminated string literal at position ${i} in '${src}'.`);
        if (src[j] === "'") {
          if (src[j + 1] === "'") {
            s += "'";
            j += 2;
            continue;
          }
          break;
        }
        s += src[j];
        j++;
      }
      out.push({ tok: { k: "str", v: s }, pos: i });
      i = j + 1;
      continue;
    }
    let m = GUID.exec(rest);
    if (m) {
      out.push({ tok: { k: "guid", v: m[0].toLowerCase() }, pos: i });
      i += m[0].length;
      continue;
    }
    m = DT.exec(rest);
    if (m && (m[0].length > 4 || /^\d{4}-/.test(rest))) {
      out.push({ tok: { k: "dt", v: m[0], date: m[1] === undefined }, pos: i });
      i += m[0].length;
      continue;
    }
    m = NUM.exec(rest);
    if (m) {
      out.push({ tok: { k: "num", v: Number(m[0].replace(/[mMdDlLfF]$/, "")) }, pos: i });
      i += m[0].length;
      continue;
    }
    m = ID.exec(rest);
    if (m) {
      out.push({ tok: { k: "id", v: m[0] }, pos: i });
      i += m[0].length;
      continue;
    }
    throw syntax(i, src);
  }
  return out;
}

const CMP = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const IN_FN = "Microsoft.Dynamics.CRM.In";
const FNS = new Set(["contains", "startswith", "endswith"]);

export function parseFilter(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): PTok | undefined => toks[p];
  const isId = (v: string): boolean => {
    const t = peek()?.tok;
    return t?.k === "id" && t.v === v;
  };
  const posOf = (): number => peek()?.pos ?? src.length;
  const expect = (k: "(" | ")" | "," | "[" | "]" | "="): void => {
    if (peek()?.tok.k !== k) throw syntax(posOf(), src);
    p++;
  };
  const operand = (): Operand => {
    const t = peek();
    if (!t) throw syntax(src.length, src);
    p++;
    const k = t.tok;
    switch (k.k) {
      case "str":
        return { k: "lit", v: k.v, lt: "string" };
      case "num":
        return { k: "lit", v: k.v, lt: "number" };
      case "guid":
        return { k: "lit", v: k.v, lt: "guid" };
      case "dt":
        return { k: "lit", v: k.v, lt: k.date ? "date" : "datetime" };
      case "id":
        if (k.v === "null") return { k: "lit", v: null, lt: "null" };
        if (k.v === "true" || k.v === "false") return { k: "lit", v: k.v === "true", lt: "bool" };
        {
          // enum literal, e.g. Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist' (metadata queries)
          const nx = toks[p];
          if (nx?.tok.k === "str" && nx.pos === t.pos + k.v.length) {
            p++;
            return { k: "lit", v: nx.tok.v, lt: "string" };
          }
        }
        return { k: "prop", name: k.v };
      default:
        throw syntax(t.pos, src);
    }
  };
  const primary = (): Expr => {
    const t = peek();
    if (!t) throw syntax(src.length, src);
    if (t.tok.k === "(") {
      p++;
      const e = or();
      expect(")");
      return e;
    }
    if (t.tok.k === "id" && toks[p + 1]?.tok.k === "(") {
      const name = t.tok.v;
      if (name === IN_FN) {
        p += 2;
        return inFunction();
      }
      if (!FNS.has(name)) {
        if (name.startsWith("Microsoft.Dynamics.CRM.")) throw new ODataError(`The query function '${name}' is not supported by the sandbox.`);
        throw new ODataError(
          `An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`,
        );
      }
      p += 2;
      const a = operand();
      expect(",");
      const b = operand();
      expect(")");
      return { t: "fn", name: name as "contains", args: [a, b] };
    }
    const l = operand();
    const opTok = peek();
    if (opTok?.tok.k === "id" && CMP.has(opTok.tok.v)) {
      p++;
      const r = operand();
      return { t: "cmp", op: opTok.tok.v as "eq", l, r };
    }
    if (opTok && !(opTok.tok.k === "id" && (opTok.tok.v === "and" || opTok.tok.v === "or")) && opTok.tok.k !== ")") throw syntax(opTok.pos, src);
    return { t: "bool", o: l };
  };
  // Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['a','b',…]) — Dataverse's query function for "x is one
  // of"; the values are string literals whatever the column's type.
  const inFunction = (): Expr => {
    const param = (name: string): void => {
      if (!isId(name)) throw new ODataError(`The query function '${IN_FN}' needs the parameter '${name}' (position ${posOf()} in '${src}').`);
      p++;
      expect("=");
    };
    param("PropertyName");
    const prop = peek()?.tok;
    if (prop?.k !== "str") throw syntax(posOf(), src);
    p++;
    expect(",");
    param("PropertyValues");
    expect("[");
    const values: Array<{ v: string; lt: LitType }> = [];
    while (peek()?.tok.k !== "]") {
      if (values.length) expect(",");
      const v = peek()?.tok;
      if (v?.k !== "str") throw syntax(posOf(), src);
      values.push({ v: v.v, lt: "string" });
      p++;
    }
    expect("]");
    expect(")");
    return { t: "in", prop: prop.v, values };
  };
  const unary = (): Expr => {
    if (isId("not")) {
      p++;
      return { t: "not", e: unary() };
    }
    return primary();
  };
  const and = (): Expr => {
    let l = unary();
    while (isId("and")) {
      p++;
      l = { t: "and", l, r: unary() };
    }
    return l;
  };
  const or = (): Expr => {
    let l = and();
    while (isId("or")) {
      p++;
      l = { t: "or", l, r: and() };
    }
    return l;
  };
  const e = or();
  if (p < toks.length) throw syntax(toks[p]!.pos, src);
  return e;
}

/** Every property name used by a filter (for validation against the schema). */
export function filterProps(e: Expr, out: string[] = []): string[] {
  const op = (o: Operand): void => {
    if (o.k === "prop") out.push(o.name);
  };
  switch (e.t) {
    case "and":
    case "or":
      filterProps(e.l, out);
      filterProps(e.r, out);
      break;
    case "not":
      filterProps(e.e, out);
      break;
    case "cmp":
      op(e.l);
      op(e.r);
      break;
    case "fn":
      e.args.forEach(op);
      break;
    case "in":
      out.push(e.prop);
      break;
    case "bool":
      op(e.o);
  }
  return out;
}

export type Scalar = string | number | boolean | null;

/** Compare a column value with a value, Dataverse style (strings and GUIDs case-insensitive). null if incomparable. */
export function compareScalar(a: Scalar, b: Scalar, hint?: LitType): number | null {
  if (a === null || b === null) return null;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" || typeof b === "boolean") {
    const x = a === true || a === 1 || a === "true" ? 1 : 0;
    const y = b === true || b === 1 || b === "true" ? 1 : 0;
    return x - y;
  }
  if (typeof a === "number" || typeof b === "number") {
    const x = Number(a);
    const y = Number(b);
    return Number.isNaN(x) || Number.isNaN(y) ? null : x - y;
  }
  if (hint === "datetime" || (hint === "date" && a.length > 10)) {
    // Both canonical UTC instants in seconds (what the sandbox stores and clients send): their text order is their time order.
    if (a.length === 20 && b.length === 20 && a.endsWith("Z") && b.endsWith("Z")) return a < b ? -1 : a > b ? 1 : 0;
    const x = Date.parse(a.length === 10 ? a + "T00:00:00Z" : a);
    const y = Date.parse(b.length === 10 ? b + "T00:00:00Z" : b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function operandValue(o: Operand, get: (name: string) => Scalar): Scalar {
  return o.k === "prop" ? get(o.name) : o.v;
}

/** A UTC instant to the second, as the sandbox writes datetimes (util.ts isoSeconds): comparable as text. */
export const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * The bounds a filter's top-level `and` terms put on a datetime column — `col ge|gt|le|lt|eq T`, and
 * `col eq null or col lt|le T` — as an inclusive [lo, hi] of canonical UTC instants (null: unbounded), or null when no
 * term bounds it. Conservative: a row outside it can't match the filter; a row inside still has to (an index narrows
 * the candidates, the filter decides).
 */
export function columnRange(e: Expr, column: string): { lo: string | null; hi: string | null } | null {
  let lo: string | null = null;
  let hi: string | null = null;
  const bound = (c: Expr): { op: string; v: string } | null =>
    c.t === "cmp" && c.l.k === "prop" && c.l.name === column && c.r.k === "lit" && typeof c.r.v === "string" && CANONICAL_INSTANT.test(c.r.v)
      ? { op: c.op, v: c.r.v }
      : null;
  const isNull = (c: Expr): boolean => c.t === "cmp" && c.op === "eq" && c.l.k === "prop" && c.l.name === column && c.r.k === "lit" && c.r.v === null;
  const visit = (t: Expr): void => {
    if (t.t === "and") return void (visit(t.l), visit(t.r));
    let b = bound(t);
    if (!b && t.t === "or") b = isNull(t.l) ? bound(t.r) : isNull(t.r) ? bound(t.l) : null; // nulls: rows without the column are checked anyway
    if (!b) return;
    if ((b.op === "ge" || b.op === "gt" || b.op === "eq") && (lo === null || b.v > lo)) lo = b.v;
    if ((b.op === "le" || b.op === "lt" || b.op === "eq") && (hi === null || b.v < hi)) hi = b.v;
  };
  visit(e);
  return lo === null && hi === null ? null : { lo, hi };
}

export function evalFilter(e: Expr, get: (name: string) => Scalar): boolean {
  switch (e.t) {
    case "and":
      return evalFilter(e.l, get) && evalFilter(e.r, get);
    case "or":
      return evalFilter(e.l, get) || evalFilter(e.r, get);
    case "not":
      return !evalFilter(e.e, get);
    case "bool":
      return operandValue(e.o, get) === true;
    case "in": {
      const a = get(e.prop);
      return a !== null && e.values.some((x) => compareScalar(a, x.v, x.lt) === 0);
    }
    case "fn": {
      const a = operandValue(e.args[0], get);
      const b = operandValue(e.args[1], get);
      if (a === null || b === null) return false;
      const x = String(a).toLowerCase();
      const y = String(b).toLowerCase();
      return e.name === "contains" ? x.includes(y) : e.name === "startswith" ? x.startsWith(y) : x.endsWith(y);
    }
    case "cmp": {
      const a = operandValue(e.l, get);
      const b = operandValue(e.r, get);
      if (e.op === "eq" || e.op === "ne") {
        const hint = e.r.k === "lit" ? e.r.lt : e.l.k === "lit" ? e.l.lt : undefined;
        const same = a === null || b === null ? a === b : compareScalar(a, b, hint) === 0;
        return e.op === "eq" ? same : !same;
      }
      const hint = e.r.k === "lit" ? e.r.lt : e.l.k === "lit" ? e.l.lt : undefined;
      const c = compareScalar(a, b, hint);
      if (c === null) return false;
      return e.op === "gt" ? c > 0 : e.op === "ge" ? c >= 0 : e.op === "lt" ? c < 0 : c <= 0;
    }
  }
}

export interface OrderKey {
  name: string;
  desc: boolean;
}
export function parseOrderBy(src: string): OrderKey[] {
  return src.split(",").map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/.exec(part);
    if (!m) throw new ODataError(`Syntax error at position 0 in '${src}'.`);
    return { name: m[1]!, desc: m[2] === "desc" };
  });
}

export function parseSelect(src: string): string[] {
  return src.split(",").map((s) => {
    const t = s.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new ODataError(`Syntax error: character '${t[0] ?? ""}' is not valid at position 0 in '${src}'.`);
    return t;
  });
}

/** Split on `sep` at paren depth 0. */
export function splitTop(src: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of src) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export interface ExpandItem {
  nav: string;
  select?: string[];
}
export function parseExpand(src: string): ExpandItem[] {
  return splitTop(src, ",").map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$/.exec(part);
    if (!m) throw new ODataError(`Syntax error at position 0 in '${src}'.`);
    const item: ExpandItem = { nav: m[1]! };
    if (m[2] !== undefined && m[2].trim() !== "") {
      for (const opt of splitTop(m[2], ";")) {
        const eq = opt.indexOf("=");
        const k = opt.slice(0, eq).trim();
        const v = opt.slice(eq + 1);
        if (k === "$select") item.select = parseSelect(v);
        else
          throw new ODataError(`The query option '${k}' is not supported by the sandbox inside $expand of a single-valued navigation property '${item.nav}'.`);
      }
    }
    return item;
  });
}
