// The wscalc playground: a REPL on a WebSocket session. This module wires the page
// together; connection.js keeps the session alive, render.js draws, store.js remembers,
// session.js knows the variables.

import { Connection, socketURL } from "./connection.js";
import { SessionModel } from "./session.js";
import { Recall, loadHistory, appendHistory, clearHistory, tabId } from "./store.js";
import {
  entryNode, fill, fillError, markQueued, markSending, noticeNode, dividerNode, varsRows,
  ncCommand, presenceNodes, whoNode, memberNode,
} from "./render.js";
import {
  RoomView, validRoomName, roomName, roomInAddress, roomLink, privateAddress, joinURL, memberHue,
} from "./room.js";

const $ = (id) => document.getElementById(id);
const input = $("expr");
const form = $("prompt");
const historyEl = $("history");
const welcome = $("welcome");
const statusEl = $("status");
const statusText = $("status-text");
const retryBtn = $("retry");
const clientsEl = document.querySelector("[data-testid=clients]");
const varsEl = $("vars");
const varsEmpty = $("vars-empty");
const rttEl = $("rtt");
const announceEl = $("announce");

const tab = tabId();
const saved = loadHistory();
const recall = new Recall(saved.map((r) => r.input)); // every tab's lines, like a shell
const model = new SessionModel();
let wasConnected = false;
let sessionTitle = "";
let room = null; // RoomView while the page is in a room
let shareAsked = false; // Share sent a join: copy the link once the room is there
const shareTitle = $("share").title; // the button's words outside a room (index.html)

const conn = new Connection(() => joinURL(socketURL(location), room), {
  onState: showState,
  onHello,
  onReply,
  onPush,
  onSent: (meta) => meta.li && markSending(meta.li),
  onDropped,
  inRoom: () => room !== null,
  onLost,
});

// ---- evaluating ----

function submit(line) {
  if (!line.trim()) {
    if (conn.stopped) conn.retryNow();
    return;
  }
  recall.push(line);
  const li = entryNode(line);
  append(li);
  const id = conn.send(line, { li });
  if (conn.isQueued(id)) markQueued(li);
}

function onReply(msg, meta, rtt) {
  if (meta.restore) {
    restored(msg, meta);
    return;
  }
  if (meta.command) {
    commandReplied(msg, meta.command);
    return;
  }
  const li = meta.li;
  if (room && msg.seq) ownEvent(msg, li);
  if (msg.type === "error") {
    fillError(li, msg);
  } else {
    fill(li, msg, copyText);
    if (model.apply(msg)) showVars();
  }
  rttEl.textContent = formatRTT(rtt);
  rttEl.title = `Round trip of the last evaluation: ${rtt.toFixed(1)} ms`;
  remember(msg);
  reveal(li);
}

function restored(msg, meta) {
  if (msg.type === "error") {
    model.forget(meta.name);
    append(noticeNode(`Could not restore ${meta.name}: ${msg.message}`, "warn"));
  } else {
    model.apply(msg);
  }
  showVars();
}

function onDropped(meta) {
  if (meta.li) fill(meta.li, { input: "quit", kind: "text", display: "session ended" });
  if (room) leftRoom(); // quit leaves the room too
  model.clear();
  showVars();
}

// onLost marks a room line whose connection dropped before its reply: it may have been
// stored (it then comes back in the recovered history), and is never sent again.
function onLost(meta) {
  if (!meta.li) return;
  const input = meta.li.querySelector(".recall .in").textContent;
  fillError(meta.li, { input, message: "connection lost before the reply: if the room got this line, it shows below" });
}

function formatRTT(ms) {
  if (ms < 1) return "<1 ms";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function remember(msg) {
  appendHistory({
    // A room's lines are recalled with Up but not shown again as this tab's private ones.
    tab: room ? `${tab}.room` : tab,
    input: msg.input,
    kind: msg.type === "error" ? "error" : msg.kind,
    display: msg.display,
    value: msg.value,
    name: msg.name,
    message: msg.message,
    column: msg.column,
    end: msg.end,
  });
}

// ---- the connection ----

function onHello(hello, again) {
  sessionTitle = `Session ${hello.session} · wscalc ${hello.version || ""}`.trim();
  statusEl.title = sessionTitle;
  $("session-id").textContent = hello.session ? `#${String(hello.session).slice(0, 8)}` : "";
  showNC(hello.tcp);
  if (room) {
    // A room's state is the room's: never pushed back into it (rooms.md §6).
    if (again) append(noticeNode(`Reconnected: catching up with room ${room.name}`, "ok"));
    return [];
  }
  if (!again) return [];
  const lines = model.restoreLines();
  const n = model.size;
  const what = n === 0 ? "" : ` · restoring ${n} variable${n === 1 ? "" : "s"}`;
  append(noticeNode(`Reconnected: new session${what}`, "ok"));
  return lines;
}

function onPush(msg) {
  switch (msg.type) {
    case "clients":
      clientsEl.replaceChildren(...presenceNodes(msg));
      clientsEl.dataset.total = String(msg.total);
      break;
    case "room":
      onRoom(msg);
      break;
    case "event":
      if (room && msg.room === room.name && showEvent(msg)) {
        if (model.apply(msg.result)) showVars();
        room.save();
      }
      break;
    case "members":
      if (room && msg.room === room.name) showMembers(msg);
      break;
    case "left":
      if (room && msg.room === room.name) leftRoom();
      break;
  }
}

// ---- rooms ----

// onRoom takes the room as the server sends it: after a join, on a URL join or a
// reconnect (recovered: only the events after the last one processed), after a reset.
function onRoom(msg) {
  const fresh = !room || room.name !== msg.room;
  if (fresh) room = new RoomView(msg.room);
  room.you = msg.you.id;
  room.nick = msg.you.nick;
  if (!msg.recovered) {
    // What the page held of the room is not the room's any more: the snapshot replaces it.
    if (!fresh && room.epoch && room.epoch !== msg.epoch) {
      append(noticeNode(`Room ${room.name} was reset`, "warn"));
    }
    for (const li of historyEl.querySelectorAll("[data-room]")) li.remove();
    room.reset(msg.epoch);
  }
  room.epoch = msg.epoch;
  for (const ev of msg.history || []) showEvent(ev);
  room.seq = Math.max(room.seq, msg.seq);
  model.clear();
  for (const v of msg.vars || []) model.set(v.name, v);
  if (msg.ans) model.setAns(msg.ans);
  showVars();
  showRoom(msg.members);
  $("room-panel").dataset.recovered = String(Boolean(msg.recovered)); // tests read it
  room.save();
  const link = roomLink(location, room.name);
  if (location.href !== link) history.replaceState(null, "", link);
  if (shareAsked) {
    shareAsked = false;
    copyRoomLink();
  }
}

// ownEvent records this page's own line in the room: it is one of the room's events.
function ownEvent(msg, li) {
  const { id: _id, seq, ...result } = msg;
  room.add({ type: "event", room: room.name, seq, member: { id: room.you, nick: room.nick }, input: msg.input, result });
  room.save();
  if (li) markRoomLine(li, seq);
}

// showEvent shows an event once: false for one already processed.
function showEvent(ev) {
  if (!room.add(ev)) return false;
  append(eventNode(ev));
  return true;
}

function eventNode(ev) {
  const li = entryNode(ev.input);
  const r = ev.result || {};
  if (r.type === "error") fillError(li, r);
  else fill(li, r, copyText);
  const you = ev.member.id === room.you;
  if (!you) li.classList.add("other");
  li.querySelector(".recall").prepend(whoNode(ev.member.nick, memberHue(ev.member.id), you));
  markRoomLine(li, ev.seq);
  return li;
}

function markRoomLine(li, seq) {
  li.dataset.room = room.name;
  li.dataset.seq = String(seq);
}

function showRoom(members) {
  $("room-panel").hidden = false;
  $("room-name").textContent = room.name;
  $("room-link").textContent = roomLink(location, room.name);
  $("share").textContent = "Copy link";
  $("share").title = "Copy this room's link";
  showMembers(members);
}

function showMembers({ total, members }) {
  const me = members.find((m) => m.id === room.you);
  if (me) room.nick = me.nick; // a nick command renamed this page's member
  const list = $("members");
  list.replaceChildren(...members.map((m) => memberNode(m, memberHue(m.id), m.id === room.you)));
  list.dataset.total = String(total);
  $("member-count").textContent = `(${total})`;
}

// leftRoom takes the page back to a private session: the server's is a fresh one.
function leftRoom() {
  const name = room.name;
  room = null;
  RoomView.forget();
  $("room-panel").hidden = true;
  $("room-copied").textContent = "";
  $("share").textContent = "Share";
  $("share").title = shareTitle;
  model.clear();
  showVars();
  history.replaceState(null, "", privateAddress(location));
  // A join of another room also leaves this one: its room message follows at once.
  append(noticeNode(`Left room ${name}`, "ok"));
}

function commandReplied(msg, command) {
  if (msg.type === "error") {
    if (command === "share") shareAsked = false;
    append(noticeNode(msg.message, "warn"));
    return;
  }
  if (command === "share") append(noticeNode(`Room opened: ${msg.display}`, "ok"));
}

function share() {
  if (room) {
    copyRoomLink();
    return;
  }
  shareAsked = true;
  conn.send(`join ${roomName()}`, { command: "share" });
}

async function copyRoomLink() {
  const link = roomLink(location, room.name);
  const ok = await copyText(link, "the room's link");
  $("room-copied").textContent = ok
    ? "Link copied: whoever opens it joins this room."
    : "Copy the link above to share this room.";
}

// joinFromAddress starts the page in the room its address names, with what this tab held
// of it before a reload, so that it catches up rather than starting over.
function joinFromAddress() {
  const name = roomInAddress(location);
  if (!name) return false;
  if (!validRoomName(name)) {
    append(noticeNode(`Invalid room name '${name}' (use 1-32 letters, digits, '-' or '_'): private session`, "warn"));
    history.replaceState(null, "", privateAddress(location));
    return false;
  }
  room = RoomView.load(name);
  for (const ev of room.lines) append(eventNode(ev));
  return true;
}

const STATE_TEXT = {
  connecting: "connecting…",
  connected: "connected",
  reconnecting: "reconnecting",
  offline: "offline",
};

function showState({ state, detail, retryIn, why }) {
  statusEl.dataset.state = state;
  statusEl.dataset.try = why; // what started the last try (tests read it)
  const ended = state === "offline" && conn.stopped; // after quit: waits for the user
  const text = ended ? "session ended" : detail ? `${STATE_TEXT[state]} · ${detail}` : STATE_TEXT[state];
  statusText.textContent = text;
  // The badge keeps to one line (the header must not reflow); the title has it all.
  if (state === "connected") statusEl.title = sessionTitle;
  else if (ended) statusEl.title = "You ended the session: press Enter to start a new one";
  else statusEl.title = retryIn ? `${text} · next try in ${Math.ceil(retryIn / 1000)} s` : text;
  retryBtn.textContent = ended ? "New session" : "Retry now";
  retryBtn.hidden = state === "connected" || state === "connecting";
  clientsEl.classList.toggle("stale", state !== "connected");
  if (state === "connected") {
    wasConnected = true;
  } else if (wasConnected && (state === "reconnecting" || state === "offline")) {
    wasConnected = false;
    const notice = ended
      ? "Session ended. Press Enter to start a new one."
      : `Disconnected: ${detail || "connection lost"}. Reconnecting; lines you type wait in a queue.`;
    append(noticeNode(notice, "warn"));
  }
}

// ---- panels ----

function showVars() {
  varsEl.replaceChildren(...varsRows(model.ans, model.vars, insertName));
  varsEmpty.hidden = model.ans !== null || model.size > 0;
}

function insertName(name) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(name, start, end, "end");
  input.focus();
}

// ---- history list ----

// A long session keeps only the newest entries on screen so the page stays light; the
// stored history is bounded the same way.
const MAX_ON_SCREEN = 1000;

function append(li) {
  historyEl.append(li);
  while (historyEl.childElementCount > MAX_ON_SCREEN) historyEl.firstElementChild.remove();
  welcome.hidden = true;
  reveal(li);
}

function reveal(li) {
  li.scrollIntoView({ block: "nearest" });
}

// showSaved shows this tab's entries from before a reload. Other tabs' entries are not
// shown: they belong to other sessions, whose variables this one does not have; Up still
// recalls their lines, and the welcome says so.
function showSaved() {
  const own = saved.filter((r) => r.tab === tab);
  if (own.length === 0) {
    const n = recall.items.length;
    $("welcome-recall").textContent = n === 0 ? "" :
      `Each tab is a session of its own. ↑ recalls the ${n === 1 ? "line" : `${n} lines`} typed earlier in this browser.`;
    $("welcome-recall").hidden = n === 0;
    return;
  }
  for (const r of own) {
    const li = entryNode(r.input);
    if (r.kind === "error") fillError(li, r);
    else fill(li, r, copyText);
    li.classList.add("earlier");
    historyEl.append(li);
  }
  historyEl.append(dividerNode("earlier in this tab · new session below"));
  welcome.hidden = true;
}

function clearAll() {
  clearHistory();
  recall.clear();
  $("welcome-recall").hidden = true;
  historyEl.replaceChildren();
  welcome.hidden = false;
  announce("History cleared");
  input.focus();
}

// ---- clipboard and screen readers ----

// copyText copies text and says so; what names it for screen readers (a long value by its
// size rather than all its digits).
async function copyText(text, what = text) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    ok = legacyCopy(text); // plain http on another host has no async clipboard
  }
  announce(ok ? `Copied ${what}` : "Could not copy");
  input.focus();
  return ok;
}

function legacyCopy(text) {
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.className = "offscreen";
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

function announce(text) {
  announceEl.textContent = text;
}

// ---- keyboard and clicks ----

function setInput(text) {
  input.value = text;
  input.focus();
  input.setSelectionRange(text.length, text.length);
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const line = input.value;
  input.value = "";
  submit(line);
  input.focus();
});

// Someone typing wants the calculator: a page waiting to reconnect tries at once.
input.addEventListener("input", () => conn.nudge("typing"));

input.addEventListener("keydown", (ev) => {
  if (ev.isComposing) return; // an IME is still composing: its keys are its own
  if (ev.key === "ArrowUp") {
    const prev = recall.up(input.value);
    if (prev !== null) setInput(prev);
    ev.preventDefault();
  } else if (ev.key === "ArrowDown") {
    const next = recall.down();
    if (next !== null) setInput(next);
    ev.preventDefault();
  } else if (ev.key === "Escape") {
    input.value = "";
    recall.reset();
    ev.preventDefault();
  }
});

// Typing anywhere on the page goes to the expression box: it keeps the focus in spirit
// without stealing it from buttons and links reached with the keyboard.
document.addEventListener("keydown", (ev) => {
  if (ev.target === input || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const tag = ev.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA") return;
  if (ev.key.length === 1 && ev.key !== " ") input.focus();
});

historyEl.addEventListener("click", (ev) => {
  const recallBtn = ev.target.closest(".recall");
  if (!recallBtn) return;
  setInput(recallBtn.querySelector(".in").textContent);
});

for (const group of document.querySelectorAll("[data-expr]")) {
  group.addEventListener("click", () => {
    submit(group.dataset.expr);
    input.focus();
  });
}

for (const b of document.querySelectorAll("[data-copy-from]")) {
  b.addEventListener("click", async () => {
    const ok = await copyText($(b.dataset.copyFrom).textContent);
    if (!ok) return;
    b.textContent = "Copied";
    setTimeout(() => { b.textContent = "Copy"; }, 1200);
  });
}

$("clear-history").addEventListener("click", clearAll);
retryBtn.addEventListener("click", () => conn.retryNow());

// ---- help panel: commands for this very host ----

// showNC shows the nc command for the server's line protocol, as its hello gives it, or
// hides it when the server has none.
function showNC(tcp) {
  const cmd = ncCommand(tcp, location.hostname);
  $("nc-hint").hidden = !cmd;
  $("nc-cmd").textContent = cmd;
}

function fillHelp() {
  const api = new URL("api/eval?expr=2**64", location.href);
  $("curl-cmd").textContent = `curl '${api.href}'`;
  $("api-link").href = api.href;
}

fillHelp();
if (!joinFromAddress()) showSaved();
showVars();
$("share").addEventListener("click", share);
$("leave").addEventListener("click", () => conn.send("leave", { command: "leave" }));
conn.start();
input.focus();
