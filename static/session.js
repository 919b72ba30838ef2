// The page's picture of its server session: the variables and ans, learnt from results,
// so the panel can show them and a new session can be given them back after a reconnect.

import { valueText } from "./render.js";

const VALUE_KINDS = new Set(["integer", "rational", "approx"]);

export class SessionModel {
  constructor() {
    this.vars = new Map(); // name -> {text, kind, value, input}; first-assignment order
    this.ans = null;
  }

  // apply learns from a result reply; it reports whether anything changed.
  apply(r) {
    if (r.type !== "result" || !VALUE_KINDS.has(r.kind)) return false;
    const v = { text: valueText(r.display, r.name), kind: r.kind, value: r.value || "", input: r.input };
    if (r.name) this.vars.set(r.name, v); // Map.set keeps the first position: like `vars`
    this.ans = v;
    return true;
  }

  // set and setAns take a room's variable or ans as its room message gives it
  // ({display, kind, value}, display without "name = ").
  set(name, v) {
    this.vars.set(name, { text: v.display, kind: v.kind, value: v.value || "", input: "" });
  }

  setAns(v) {
    this.ans = { text: v.display, kind: v.kind, value: v.value || "", input: "" };
  }

  forget(name) {
    this.vars.delete(name);
  }

  clear() {
    this.vars.clear();
    this.ans = null;
  }

  get size() {
    return this.vars.size;
  }

  // restoreLines rebuilds the session on a new server session: one assignment per variable
  // with its last value, in first-assignment order, then ans. Values are replayed rather
  // than the original lines, which may have depended on ans or on later-changed variables.
  restoreLines() {
    const lines = [];
    for (const [name, v] of this.vars) {
      const lit = literal(v);
      const expr = lit ? `${name} = ${lit}` : v.input;
      lines.push({ expr, meta: { restore: true, name } });
    }
    const ansLit = this.ans && literal(this.ans);
    if (ansLit) lines.push({ expr: ansLit, meta: { restore: true, name: "ans" } });
    return lines;
  }
}

// MAX_LITERAL keeps "name = value" within the server's 4096-byte line: a longer value (up
// to 301 030 digits) is restored by its original line instead.
const MAX_LITERAL = 4000;

// literal is the text that gives v back with its kind: an exact value is its own exact
// text; an approximate one is its round-trip decimal times exp(0), which is exactly 1 but
// approximate, so the restored value is approximate again and bit-for-bit the same. It is
// "" for a value too long for a line.
export function literal(v) {
  if (!v.value || v.value.length > MAX_LITERAL) return "";
  return v.kind === "approx" ? `${v.value} * exp(0)` : v.value;
}
