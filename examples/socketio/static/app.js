// The page's client side, with socket.io-client's io(): the main namespace
// as in the seed, and the /chat namespace with rooms and acknowledgements.
// window.app holds the state the page shows (the tests read it).
"use strict";

const app = (window.app = {
  main: { connected: false, id: "", messages: [] },
  chat: { connected: false, name: "", room: "", members: [], messages: [], acked: 0, error: "" },
});

const $ = (id) => document.getElementById(id);

function add(list, node) {
  list.appendChild(node);
  list.scrollTop = list.scrollHeight;
}

function line(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  return li;
}

// The main namespace: the seed's client.
const socket = io();
socket.on("connect", () => {
  app.main.connected = true;
  app.main.id = socket.id;
  $("main-status").textContent = "connected as " + socket.id + " (" + socket.io.engine.transport.name + ")";
  $("main-status").className = "status on";
});
socket.io.engine.on("upgrade", (t) => {
  $("main-status").textContent = "connected as " + socket.id + " (" + t.name + ")";
});
socket.on("disconnect", (reason) => {
  app.main.connected = false;
  $("main-status").textContent = "disconnected: " + reason;
  $("main-status").className = "status";
});
socket.on("message", (data) => {
  const text = typeof data === "string" ? data : data.text;
  app.main.messages.push(text);
  add($("main-log"), line(typeof data === "string" ? text : "“" + text + "”", typeof data === "string" ? "system" : ""));
});
$("main-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("main-text").value.trim();
  if (!text) return;
  socket.emit("message", { text });
  $("main-text").value = "";
});

// The /chat namespace: a name in the auth payload (a middleware refuses
// the connection without one), rooms joined with an acknowledgement that
// lists the members, and messages acknowledged with the time they went out.
let chat = null;

function joinChat(name) {
  if (chat) chat.disconnect();
  app.chat.error = "";
  $("chat-error").textContent = "";
  chat = io("/chat", { auth: { name } });
  chat.on("connect", () => {
    app.chat.connected = true;
    app.chat.name = name;
    $("chat-status").textContent = "connected as " + name;
    $("chat-status").className = "status on";
    join(app.chat.room || "lobby");
  });
  chat.on("connect_error", (err) => {
    app.chat.error = err.message;
    $("chat-error").textContent = err.message + (err.data ? " " + JSON.stringify(err.data) : "");
  });
  chat.on("disconnect", (reason) => {
    app.chat.connected = false;
    $("chat-status").textContent = "disconnected: " + reason;
    $("chat-status").className = "status";
  });
  chat.on("said", (m) => {
    app.chat.messages.push(m.from + ": " + m.text);
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = m.from;
    li.append(who, document.createTextNode(m.text));
    add($("chat-log"), li);
  });
  chat.on("joined", (who) => {
    if (!app.chat.members.includes(who)) app.chat.members = [...app.chat.members, who].sort();
    showMembers();
    add($("chat-log"), line(who + " joined", "system"));
  });
  chat.on("left", (who) => {
    app.chat.members = app.chat.members.filter((m) => m !== who);
    showMembers();
    add($("chat-log"), line(who + " left", "system"));
  });
}

function showMembers() {
  $("members").textContent = app.chat.room ? "In " + app.chat.room + ": " + app.chat.members.join(", ") : "";
}

async function join(room) {
  if (!chat || !chat.connected) return;
  try {
    const res = await chat.timeout(5000).emitWithAck("join", room);
    if (res.error) throw new Error(res.error.message);
    app.chat.room = res.room;
    app.chat.members = res.members;
    showMembers();
    for (const b of document.querySelectorAll("#rooms button")) {
      b.classList.toggle("current", b.dataset.room === res.room);
    }
  } catch (e) {
    $("chat-error").textContent = String(e.message || e);
  }
}

$("name-form").addEventListener("submit", (e) => {
  e.preventDefault();
  joinChat($("name").value.trim());
});

$("rooms").addEventListener("click", (e) => {
  if (e.target.dataset.room) join(e.target.dataset.room);
});

$("say-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("say-text").value.trim();
  if (!text || !chat) return;
  $("say-text").value = "";
  try {
    const res = await chat.timeout(5000).emitWithAck("say", text);
    if (res && res.error) throw new Error(res.error.message);
    app.chat.acked++;
    const items = $("chat-log").querySelectorAll("li");
    const mine = items[items.length - 1];
    if (mine) {
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = "✓ " + new Date(res).toLocaleTimeString();
      mine.appendChild(note);
    }
  } catch (err) {
    $("chat-error").textContent = String(err.message || err);
  }
});
