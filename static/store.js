// History that survives a reload (localStorage, bounded) and shell-like recall of earlier
// inputs with Up and Down.

const KEY = "wscalc.history.v1";
const MAX_ENTRIES = 200;
const MAX_FIELD = 5000; // a 4300-digit integer fits; anything longer is cut in storage only

// loadHistory returns the saved records, oldest first; a missing or damaged store is empty.
export function loadHistory() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list.filter(validRecord).slice(-MAX_ENTRIES) : [];
  } catch {
    return [];
  }
}

function validRecord(r) {
  return r && typeof r.input === "string" && typeof r.kind === "string";
}

function trimField(v) {
  return typeof v === "string" && v.length > MAX_FIELD ? v.slice(0, MAX_FIELD) + "…" : v;
}

// saveHistory keeps the newest records; storage that is full or disabled is ignored,
// history then lasts as long as the page.
export function saveHistory(records) {
  const kept = records.slice(-MAX_ENTRIES).map((r) => ({
    input: trimField(r.input),
    kind: r.kind,
    display: trimField(r.display || ""),
    value: trimField(r.value || ""),
    name: r.name || "",
    message: r.message || "",
    column: r.column || 0,
    end: r.end || 0,
  }));
  try {
    localStorage.setItem(KEY, JSON.stringify(kept));
  } catch {
    /* quota or privacy mode */
  }
  return kept;
}

export function clearHistory() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}

// Recall walks earlier inputs like a shell: Up goes back, Down forward, and stepping past
// the newest restores the line that was being typed.
export class Recall {
  constructor(inputs = []) {
    this.items = [];
    for (const s of inputs) this.push(s);
    this.pos = this.items.length;
    this.draft = "";
  }

  push(line) {
    if (!line.trim()) return;
    if (this.items[this.items.length - 1] !== line) this.items.push(line);
    if (this.items.length > MAX_ENTRIES) this.items.shift();
    this.reset();
  }

  reset() {
    this.pos = this.items.length;
    this.draft = "";
  }

  clear() {
    this.items = [];
    this.reset();
  }

  // up returns the earlier input to show, or null at the oldest.
  up(current) {
    if (this.pos === 0) return null;
    if (this.pos === this.items.length) this.draft = current;
    this.pos--;
    return this.items[this.pos];
  }

  // down returns the later input (or the saved draft), or null when already at the draft.
  down() {
    if (this.pos >= this.items.length) return null;
    this.pos++;
    return this.pos === this.items.length ? this.draft : this.items[this.pos];
  }
}
