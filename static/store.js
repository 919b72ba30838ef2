// History that survives a reload (localStorage, bounded) and shell-like recall of earlier
// inputs with Up and Down. Every tab adds to one history; each record names the tab that
// made it, so that a tab shows only its own entries (other tabs are other sessions, with
// other variables) while Up recalls the lines of all of them.

const KEY = "wscalc.history.v1";
const TAB_KEY = "wscalc.tab"; // in sessionStorage: kept across reloads, not shared by tabs
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

// appendHistory adds one record to what is stored now: other tabs may have added theirs
// since this page loaded, and must not be overwritten.
export function appendHistory(record) {
  const list = loadHistory();
  list.push(record);
  return saveHistory(list);
}

// saveHistory keeps the newest records; storage that is full or disabled is ignored,
// history then lasts as long as the page.
export function saveHistory(records) {
  const kept = records.slice(-MAX_ENTRIES).map((r) => ({
    tab: typeof r.tab === "string" ? r.tab : "",
    input: trimField(r.input),
    kind: r.kind,
    display: trimField(r.display || ""),
    value: r.value && r.value.length <= MAX_FIELD ? r.value : "", // a cut value is no value
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

let memoryTab = "";

// tabId names this tab: the same after a reload, different in every other tab.
export function tabId() {
  try {
    let id = sessionStorage.getItem(TAB_KEY);
    if (!id) {
      id = randomId();
      sessionStorage.setItem(TAB_KEY, id);
    }
    return id;
  } catch {
    memoryTab ||= randomId(); // storage disabled: a name for as long as the page lives
    return memoryTab;
  }
}

// randomId works on plain http too, where crypto.randomUUID does not exist.
function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
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
