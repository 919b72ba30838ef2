// Rendering of history entries and variables. Everything the server or the user wrote is
// inserted with textContent, never parsed as HTML.

const KIND_LABEL = {
  integer: "integer",
  rational: "rational",
  approx: "approximate",
  text: "command",
  error: "error",
  none: "comment",
};

// el builds an element with a class and optional text.
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  copy: ["M9 9h10v10H9z", "M5 15V5h10"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
};

// icon draws a small stroked icon; its colour and size come from the stylesheet.
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// valueText is the display without the "name = " of an assignment.
export function valueText(display, name) {
  const prefix = name ? `${name} = ` : "";
  return prefix && display.startsWith(prefix) ? display.slice(prefix.length) : display;
}

// splitApprox separates an exact part from its "≈ decimal" gloss: "1/3 ≈ 0.33…" gives
// ["1/3", "≈ 0.33…"], "≈ 1.41" gives ["", "≈ 1.41"], "14" gives ["14", ""].
export function splitApprox(text) {
  const i = text.indexOf("≈");
  if (i < 0) return [text, ""];
  return [text.slice(0, i).trimEnd(), text.slice(i)];
}

// valueNode renders a value display, e.g. "1/3 ≈ 0.333…", as exact and approximate parts.
export function valueNode(text, kind) {
  const out = el("span", `value k-${kind}`);
  const [exact, approx] = splitApprox(text);
  // An exact value too large to print in full shows only its approximation: it keeps the
  // colour of its kind, so it still reads as exact.
  if (!exact && kind !== "approx") out.classList.add("only-approx");
  if (exact) out.append(el("span", "exact", exact));
  if (exact && approx) out.append(" ");
  if (approx) out.append(el("span", "approx", approx));
  return out;
}

// codePoints splits a line the way the server counts columns.
export function codePoints(s) {
  return Array.from(s);
}

// inputNode renders the input line; for an error with a column it wraps the offending
// code points (1-based, end inclusive) in a span with a wavy underline. A column past the
// end of the line marks "end of input" with a small placeholder.
export function inputNode(input, column = 0, end = 0) {
  const code = el("code", "in");
  code.dataset.testid = "input";
  if (!column) {
    code.textContent = input;
    return code;
  }
  const cps = codePoints(input);
  const from = Math.min(column - 1, cps.length);
  const to = Math.min(Math.max(end, column), cps.length);
  const mark = el("span", "err-span");
  mark.dataset.testid = "err-span";
  mark.dataset.column = String(column);
  mark.dataset.end = String(end);
  if (from >= cps.length) {
    mark.classList.add("eol");
    mark.textContent = "\u00a0";
    mark.title = "end of input";
  } else {
    mark.textContent = cps.slice(from, to).join("");
  }
  code.append(cps.slice(0, from).join(""), mark, cps.slice(to).join(""));
  return code;
}

// entryNode builds the list item for one line; fill or fillError completes it when the
// reply arrives.
export function entryNode(input) {
  const li = el("li", "entry");
  li.dataset.testid = "entry";
  li.dataset.kind = "pending";
  const recall = el("button", "recall");
  recall.type = "button";
  recall.title = "Put this line back in the input";
  recall.append(el("span", "ps1", "›"), inputNode(input));
  const out = el("div", "out");
  out.append(el("span", "pending", "…"));
  const bar = el("span", "bar");
  bar.setAttribute("aria-hidden", "true");
  li.append(bar, recall, out);
  return li;
}

export function markQueued(li) {
  li.classList.add("queued");
  const out = li.querySelector(".out");
  out.replaceChildren(el("span", "queued-note", "queued · sent when connected"));
}

export function markSending(li) {
  li.classList.remove("queued");
  const out = li.querySelector(".out");
  out.replaceChildren(el("span", "pending", "…"));
}

// fill completes an entry with a result record {input, kind, display, value, name}.
export function fill(li, r, copy) {
  li.classList.remove("queued");
  li.dataset.kind = r.kind;
  li.querySelector(".recall .in").replaceWith(inputNode(r.input));
  li.querySelector(".expand")?.remove();
  li.querySelector(".digits")?.remove();
  const out = li.querySelector(".out");
  const parts = [];
  let res = null;
  if (r.kind === "text" || r.kind === "none") {
    if (r.display) parts.push(resultNode("result text", r.display));
  } else {
    res = resultNode("result");
    if (r.name) res.append(el("span", "name", r.name), el("span", "eq", " = "));
    res.append(valueNode(valueText(r.display, r.name), r.kind));
    parts.push(res);
  }
  const side = el("span", "side-info");
  if (r.kind !== "none") side.append(el("span", "tag", KIND_LABEL[r.kind] || r.kind));
  if (copy && (r.kind === "integer" || r.kind === "rational" || r.kind === "approx")) {
    side.append(copyButton(r, copy));
  }
  parts.push(side);
  out.replaceChildren(...parts);
  const long = res && longValue(r);
  if (long) li.append(...expander(res, r.value, long));
}

// A result whose exact value is long, or not in its display at all (an integer over 4300
// digits shows only its first digits and their count, a fraction with long parts only its
// decimal), gets a button that shows every digit, from the reply's value, and hides them
// again. A long value in the display (1000!, 2568 digits) is cut to a few lines until then.
const LONG_DIGITS = 200;

// digitCount counts the decimal digits of a value's text ("-12/345" has 5).
export function digitCount(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

// longValue says whether r needs the button: null, or the value's digit count and whether
// the display already shows every one of them.
export function longValue(r) {
  if (!r.value || (r.kind !== "integer" && r.kind !== "rational")) return null;
  const [exact] = splitApprox(valueText(r.display, r.name));
  const digits = digitCount(r.value);
  const inDisplay = exact === r.value;
  if (inDisplay && digits <= LONG_DIGITS) return null;
  if (!inDisplay && exact) return null; // an exact display such as 0.125 for 1/8
  return { digits, inDisplay };
}

let digitsIds = 0;

// expander returns the button that shows or hides every digit, and the box of digits when
// the display does not hold them. The digits go into the page only when asked for: a
// million-bit integer has 301 030 of them.
function expander(res, value, { digits, inDisplay }) {
  const b = el("button", "expand");
  b.type = "button";
  b.dataset.testid = "expand";
  const more = `show all ${digits} digits`;
  let target = res;
  let box = null;
  if (inDisplay) {
    res.classList.add("collapsed");
  } else {
    box = el("div", "digits");
    box.dataset.testid = "digits";
    box.hidden = true;
    box.tabIndex = 0; // it scrolls: the keyboard must reach it
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", `all ${digits} digits`);
    target = box;
  }
  target.id ||= `digits-${++digitsIds}`;
  b.setAttribute("aria-controls", target.id);
  const show = (open) => {
    b.setAttribute("aria-expanded", String(open));
    b.textContent = open ? "collapse" : more;
    if (inDisplay) {
      res.classList.toggle("collapsed", !open);
    } else {
      box.textContent = open ? value : "";
      box.hidden = !open;
    }
  };
  show(false);
  b.addEventListener("click", () => {
    const open = b.getAttribute("aria-expanded") !== "true";
    show(open);
    if (!open) b.closest(".entry")?.scrollIntoView({ block: "nearest" });
  });
  return box ? [b, box] : [b];
}

function resultNode(className, text) {
  const out = el("output", className, text);
  out.dataset.testid = "result";
  return out;
}

// copyButton copies the exact value (every digit of it) or, without one, the display. A
// long value is named by its size, not read out.
function copyButton(r, copy) {
  const text = r.value || valueText(r.display, r.name);
  const what = text.length > LONG_DIGITS ? `all ${digitCount(text)} digits` : text;
  const b = el("button", "copy");
  b.type = "button";
  b.title = `Copy ${what}`;
  b.setAttribute("aria-label", `Copy result ${what}`);
  b.append(icon("copy"));
  b.addEventListener("click", async (ev) => {
    ev.stopPropagation();
    const ok = await copy(text, what);
    if (!ok) return;
    b.replaceChildren(icon("check"));
    b.classList.add("done");
    setTimeout(() => {
      b.replaceChildren(icon("copy"));
      b.classList.remove("done");
    }, 1200);
  });
  return b;
}

// fillError completes an entry with an error record {input, message, column, end}.
export function fillError(li, r) {
  li.classList.remove("queued");
  li.dataset.kind = "error";
  li.querySelector(".recall .in").replaceWith(inputNode(r.input, r.column, r.end));
  const out = li.querySelector(".out");
  const msg = resultNode("result err");
  if (r.column) msg.append(el("span", "col", `col ${r.column}`), " ");
  const text = el("span", "msg", r.message);
  text.dataset.testid = "message";
  msg.append(text);
  const side = el("span", "side-info");
  side.append(el("span", "tag", "error"));
  out.replaceChildren(msg, side);
}

// noticeNode is a line about the connection, shown in the history but not kept in it.
export function noticeNode(text, tone = "info") {
  const li = el("li", `notice ${tone}`);
  li.dataset.testid = "notice";
  li.append(el("span", "notice-text", text));
  return li;
}

export function dividerNode(text) {
  const li = el("li", "divider");
  li.append(el("span", "", text));
  return li;
}

// varsRows renders the variables panel: ans first, then variables in first-assignment order.
export function varsRows(ans, vars, onPick) {
  const rows = [];
  const row = (name, v, cls) => {
    const dt = el("dt", cls);
    const b = el("button", "var-name", name);
    b.type = "button";
    b.title = `Insert ${name}`;
    b.addEventListener("click", () => onPick(name));
    dt.append(b);
    const dd = el("dd", cls);
    dd.append(valueNode(v.text, v.kind));
    rows.push(dt, dd);
  };
  if (ans) row("ans", ans, "ans");
  for (const [name, v] of vars) row(name, v, "var");
  return rows;
}

// presenceNodes is the presence line: every session, then WebSocket ones (this page, other
// tabs, scripts) as "web" and line-protocol ones as "nc"; a phone shows the first part only.
export function presenceNodes(c) {
  return [el("span", "", `${c.total} connected`), el("span", "more", ` (${c.ws} web, ${c.tcp} nc)`)];
}

// ncCommand is the command that opens the line protocol given the hello's tcp address
// (host:port, [v6]:port), or "" when the server has none. A server that listens on every
// interface says localhost; the host this page was loaded from reaches it then too.
export function ncCommand(tcp, pageHost) {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(tcp || "");
  if (!m) return "";
  let host = m[1] || m[2];
  const page = (pageHost || "").replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" && page) host = page;
  return `nc ${host} ${m[3]}`;
}

// whoNode names the member who typed a room line: a dot of its colour and its nick.
export function whoNode(nick, hue, you) {
  const w = el("span", `who m${hue}`);
  w.dataset.testid = "who";
  const dot = el("span", "dot-m");
  dot.setAttribute("aria-hidden", "true");
  w.append(dot, el("span", "nick", nick));
  if (you) w.append(el("span", "sr-only", " (you)"));
  return w;
}

// memberNode is one member in the room panel's list.
export function memberNode(m, hue, you) {
  const li = el("li", `member m${hue}`);
  li.dataset.testid = "member";
  const dot = el("span", "dot-m");
  dot.setAttribute("aria-hidden", "true");
  li.append(dot, el("span", "nick", m.nick));
  if (you) li.append(el("span", "you", "(you)"));
  if (m.transport === "tcp") li.append(el("span", "via", "nc"));
  return li;
}
