// The chat page: one WebSocket to /ws, JSON events {"type","id","payload","ts"},
// reconnection with exponential backoff and jitter, and a room switch that
// follows the server's answer: the page changes rooms on "joined", and an
// error event carrying the join's id leaves it where it was.
"use strict";

const params = new URLSearchParams(location.search);
const name = params.get("name") || localStorage.getItem("chat-name") || "";
const wsURL = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
  "/ws" + (name ? "?name=" + encodeURIComponent(name) : "");

// The page's state, also read by the browser test.
const chat = window.chat = {
  status: "connecting", // connecting, open, reconnecting
  name: name,
  room: "",              // the room the server has us in ("" before the first "joined")
  joining: "",           // the room asked for, until the server answers
  joinID: "",            // the id of that join request
  connects: 0,           // connections opened so far
  members: [],
  rooms: [],
  messages: [],          // {id, from, text} of the current room
  lastError: "",
};

const wanted = decodeURIComponent(location.hash.slice(1)) || "lobby";
const backoff = { initial: 250, max: 10000, factor: 2, jitter: 0.5 };
let ws = null;
let attempt = 0;
const outbox = []; // messages typed while disconnected, sent after rejoining
const seen = new Set();

const $ = (id) => document.getElementById(id);

let lastID = 0;

// send sends an event and returns its id, which the server echoes in the
// error event a failed request causes.
function send(type, payload) {
  const id = String(++lastID);
  ws.send(JSON.stringify({ type, id, payload, ts: Date.now() }));
  return id;
}

// join asks the server for a room; the page moves when it answers.
function join(room) {
  chat.joining = room;
  chat.joinID = send("join", { room });
  render();
}

function connect() {
  setStatus(attempt === 0 && chat.connects === 0 ? "connecting" : "reconnecting");
  ws = new WebSocket(wsURL);
  ws.onopen = () => {
    attempt = 0;
    chat.connects++;
    setStatus("open");
    join(chat.room || chat.joining || wanted); // re-join after every reconnection
  };
  ws.onmessage = (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    handle(ev.type, ev.payload || {});
  };
  ws.onclose = (e) => {
    ws = null;
    // Exponential backoff with jitter, so that all the pages a server
    // restart dropped do not come back at the same instant.
    const base = Math.min(backoff.max, backoff.initial * backoff.factor ** attempt);
    const delay = base * (1 - backoff.jitter * Math.random());
    attempt++;
    setStatus("reconnecting", `disconnected (${e.code}${e.reason ? " " + e.reason : ""}); retrying in ${(delay / 1000).toFixed(1)} s`);
    setTimeout(connect, delay);
  };
}

function handle(type, p) {
  switch (type) {
  case "welcome":
    chat.name = p.name;
    localStorage.setItem("chat-name", p.name);
    $("me").textContent = p.name;
    renderRooms(p.rooms);
    break;
  case "joined":
    if (p.room !== chat.room) { chat.messages = []; seen.clear(); }
    chat.room = p.room;
    if (chat.joining === p.room) { chat.joining = ""; chat.joinID = ""; }
    history.replaceState(null, "", "#" + encodeURIComponent(p.room));
    p.history.forEach(addMessage);
    chat.members = p.members;
    render();
    while (outbox.length && ws && ws.readyState === WebSocket.OPEN) send("message", { text: outbox.shift() });
    break;
  case "left":
    break;
  case "message":
    if (p.room === chat.room) { addMessage(p); render(); }
    break;
  case "presence":
    if (p.room === chat.room) {
      chat.members = p.members;
      if (p.user !== chat.name) system(`${p.user} ${p.action === "join" ? "joined" : "left"}`);
      render();
    }
    break;
  case "rooms":
    renderRooms(p);
    break;
  case "error":
    chat.lastError = p.code + ": " + p.message;
    if (p.id && p.id === chat.joinID) {
      // The join was refused: stay in the room the server has us in.
      system(`cannot join ${chat.joining}: ${p.message}`);
      chat.joining = "";
      chat.joinID = "";
      if (!chat.room && ws && ws.readyState === WebSocket.OPEN) join("lobby");
    } else {
      system("error: " + p.message);
    }
    render();
    break;
  }
}

function addMessage(m) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  chat.messages.push({ id: m.id, from: m.from, text: m.text });
}

function system(text) {
  chat.messages.push({ id: "", from: "", text });
}

function setStatus(s, detail) {
  chat.status = s;
  const el = $("status");
  el.className = s;
  el.textContent = detail || s;
}

function render() {
  $("room-title").textContent = chat.room ? "#" + chat.room : "joining #" + chat.joining + "…";
  const ul = $("messages");
  ul.replaceChildren(...chat.messages.map((m) => {
    const li = document.createElement("li");
    if (!m.id) li.className = "system";
    if (m.from) {
      const from = document.createElement("span");
      from.className = "from";
      from.textContent = m.from;
      li.append(from);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    li.append(text);
    return li;
  }));
  ul.scrollTop = ul.scrollHeight;
  $("members").replaceChildren(...chat.members.map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
  renderRooms(chat.rooms);
}

function renderRooms(rooms) {
  chat.rooms = rooms;
  $("rooms").replaceChildren(...rooms.map((r) => {
    const b = document.createElement("button");
    b.textContent = `${r.name} (${r.members})`;
    b.dataset.room = r.name;
    if (r.name === chat.room) b.className = "current";
    b.onclick = () => switchRoom(r.name);
    return b;
  }));
}

// switchRoom asks to move to another room. The page stays in its room,
// showing its messages, until the server answers "joined" (then it moves)
// or refuses with an error event for the request (then it stays).
function switchRoom(room) {
  if (room === chat.room || room === chat.joining) return;
  if (ws && ws.readyState === WebSocket.OPEN) join(room);
  else chat.joining = room; // asked for once the page is connected again
}

$("send-form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  if (ws && ws.readyState === WebSocket.OPEN) send("message", { text });
  else if (outbox.length < 100) outbox.push(text);
};

$("room-form").onsubmit = (e) => {
  e.preventDefault();
  const room = $("new-room").value.trim();
  $("new-room").value = "";
  if (room) switchRoom(room);
};

connect();
