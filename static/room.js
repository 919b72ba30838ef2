// Rooms on the page: a readable room name for Share, the room named in the page's address,
// the /ws address that joins (and recovers) it, and what the page remembers of the room
// across a reload (sessionStorage: this tab only).

// The server's rule for room names (rooms.md §1); it checks again and has the last word.
const ROOM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export function validRoomName(name) {
  return ROOM_NAME.test(name || "");
}

const ADJECTIVES = [
  "amber", "brave", "calm", "clever", "cosy", "crisp", "eager", "fancy", "gentle", "happy",
  "jolly", "keen", "lucky", "mellow", "merry", "nimble", "proud", "quick", "quiet", "sunny",
  "swift", "tidy", "vivid", "witty",
];
const NOUNS = [
  "abacus", "badger", "comet", "delta", "falcon", "fern", "heron", "kernel", "lemur", "maple",
  "meadow", "nebula", "otter", "pebble", "prism", "quartz", "raven", "river", "sparrow", "tiger",
  "tulip", "vector", "walrus", "zephyr",
];

// roomName is two words and three digits, e.g. "swift-otter-482": easy to read out, and
// with 24 × 24 × 1000 names unlikely to meet someone else's room by chance.
export function roomName(random = Math.random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const digits = String(Math.floor(random() * 1000)).padStart(3, "0");
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${digits}`;
}

// roomInAddress is the room the page's address names (?room=NAME), "" for none.
export function roomInAddress(loc) {
  return new URL(loc.href).searchParams.get("room") || "";
}

// roomLink is the address that opens this page in room name.
export function roomLink(loc, name) {
  const u = new URL(loc.href);
  u.search = "";
  u.hash = "";
  u.searchParams.set("room", name);
  return u.href;
}

// privateAddress is the page's address without a room.
export function privateAddress(loc) {
  const u = new URL(loc.href);
  u.search = "";
  return u.pathname + u.hash;
}

// joinURL adds the room parameters to the WebSocket address: the room and nick, and, once
// the page holds some of the room, its epoch and the last seq it processed, so that a new
// connection gets exactly the events it missed.
export function joinURL(base, room) {
  if (!room) return base;
  const u = new URL(base);
  u.searchParams.set("room", room.name);
  if (room.nick) u.searchParams.set("nick", room.nick);
  if (room.epoch) {
    u.searchParams.set("epoch", room.epoch);
    u.searchParams.set("since", String(room.seq));
  }
  return u.href;
}

// memberHue is one of six colours for a member, the same for a member on every page.
export function memberHue(id) {
  let h = 0;
  for (const c of String(id)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % 6;
}

// The room's lines this tab has shown, kept for a reload: at most as many as a snapshot
// gives (the server's last 100 events).
const KEEP_LINES = 100;
const ROOM_KEY = "wscalc.room";

// RoomView is the room as this tab holds it: its name, epoch, the last seq processed, the
// nick and the lines shown (events, own ones included).
export class RoomView {
  constructor(name) {
    this.name = name.toLowerCase();
    this.epoch = "";
    this.seq = 0;
    this.nick = "";
    this.you = "";
    this.lines = [];
  }

  // add records an event the page has shown; it reports false for one already processed.
  add(ev) {
    if (ev.seq <= this.seq) return false;
    this.seq = ev.seq;
    this.lines.push(ev);
    if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
    return true;
  }

  // reset drops what the page holds of the room (a snapshot follows).
  reset(epoch) {
    this.epoch = epoch;
    this.seq = 0;
    this.lines = [];
  }

  save() {
    try {
      sessionStorage.setItem(ROOM_KEY, JSON.stringify({
        name: this.name, epoch: this.epoch, seq: this.seq, nick: this.nick, lines: this.lines,
      }));
    } catch {
      // storage full or disabled: a reload takes the snapshot instead
    }
  }

  // load gives back what this tab held of room name before a reload, or a fresh view.
  static load(name) {
    const view = new RoomView(name);
    try {
      const s = JSON.parse(sessionStorage.getItem(ROOM_KEY) || "null");
      if (s && s.name === view.name && typeof s.epoch === "string" && Number.isInteger(s.seq)) {
        Object.assign(view, { epoch: s.epoch, seq: s.seq, nick: s.nick || "", lines: s.lines || [] });
      }
    } catch {
      // nothing usable kept
    }
    return view;
  }

  static forget() {
    try {
      sessionStorage.removeItem(ROOM_KEY);
    } catch {
      // nothing to forget
    }
  }
}
