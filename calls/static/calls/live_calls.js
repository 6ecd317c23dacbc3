// The live calls monitor: a card per call in progress with its transcript as it is spoken, fed
// by the websocket at /ws/live-calls/ (calls/consumers.py). Text is set with textContent only.
"use strict";

(function () {
  const RECENT_MS = 5 * 60 * 1000; // how long an ended call stays in "recently ended"
  const MAX_BACKOFF_MS = 30000;
  const NOT_PERMITTED = 4403;
  // The models' names for languages and outcomes, rendered by the page (calls/monitor.py).
  const LABELS = JSON.parse(document.getElementById("call-labels").textContent);
  const LANGUAGES = LABELS.languages;
  const OUTCOMES = LABELS.outcomes;

  const calls = new Map(); // uuid -> {call, card, transcript, turns: Map(sequence -> li), endedAt}
  let root, statusLine, activeList, recentList, emptyNote, countNote;
  let backoff = 1000;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "live-status " + (kind || "");
  }

  function duration(fromIso, toIso) {
    const start = Date.parse(fromIso);
    if (Number.isNaN(start)) return "";
    const end = toIso ? Date.parse(toIso) : Date.now();
    const seconds = Math.max(0, Math.floor((end - start) / 1000));
    const m = Math.floor(seconds / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return m + ":" + s;
  }

  function clock(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
  }

  function newCard(uuid) {
    const card = el("article", "live-card");
    card.dataset.call = uuid;
    const header = el("header");
    const caller = el("span", "number", "Unknown number");
    const started = el("span", "meta started");
    const length = el("span", "meta duration");
    const language = el("span", "meta language");
    header.append(caller, started, length, language);
    const outcome = el("p", "outcome");
    outcome.hidden = true;
    const link = el("a", "meta open", "Open in admin");
    link.href = "/admin/calls/call/?q=" + encodeURIComponent(uuid);
    const transcript = el("ol", "transcript");
    card.append(header, outcome, transcript, link);
    return { card, caller, started, length, language, outcome, transcript, turns: new Map() };
  }

  function entry(uuid) {
    let item = calls.get(uuid);
    if (!item) {
      item = newCard(uuid);
      item.call = { uuid, status: "in_progress" };
      calls.set(uuid, item);
      activeList.append(item.card);
    }
    return item;
  }

  function applyCall(call) {
    const item = entry(call.uuid);
    const previous = item.call;
    item.call = Object.assign({}, previous, call);
    if (!item.call.caller_number && previous.caller_number) {
      item.call.caller_number = previous.caller_number;
    }
    item.caller.textContent = item.call.caller_number || "Unknown number";
    if (item.call.started_at && item.call.status !== "ended") {
      item.started.textContent = "since " + clock(item.call.started_at);
    }
    item.language.textContent = LANGUAGES[item.call.language] || item.call.language || "";
    if (item.call.status === "ended") end(item);
    tick();
  }

  function end(item) {
    if (!item.endedAt) {
      const endedAt = Date.parse(item.call.ended_at);
      item.endedAt = Number.isNaN(endedAt) ? Date.now() : Math.min(endedAt, Date.now());
    }
    const outcome = item.call.outcome;
    item.outcome.textContent = "Ended: " + (OUTCOMES[outcome] || outcome || "unknown");
    item.outcome.hidden = false;
    item.card.classList.add("ended");
    if (item.call.ended_at) item.started.textContent = "ended " + clock(item.call.ended_at);
    if (item.card.parentNode !== recentList) recentList.prepend(item.card);
  }

  function applyTurn(turn) {
    const item = entry(turn.call);
    if (item.turns.has(turn.sequence)) return; // sent by both the layer and the snapshot
    const line = el("li", "turn " + (turn.role === "caller" ? "caller" : "bot"));
    line.dataset.sequence = String(turn.sequence);
    line.dataset.role = turn.role;
    if (turn.interrupted) line.classList.add("interrupted");
    const who = turn.role === "caller" ? "Caller" : "Bot";
    line.append(el("span", "who", turn.via === "dtmf" ? who + " (keypad):" : who + ":"));
    line.append(el("span", "text", turn.text || ""));
    // Keep the transcript in order (newest at the bottom), whatever order events arrive in.
    let before = null;
    for (const [sequence, other] of item.turns) {
      if (sequence > turn.sequence && (!before || Number(before.dataset.sequence) > sequence)) {
        before = other;
      }
    }
    item.transcript.insertBefore(line, before);
    item.turns.set(turn.sequence, line);
    item.transcript.scrollTop = item.transcript.scrollHeight;
  }

  function applySnapshot(snapshot) {
    const live = new Set(snapshot.calls.map((call) => call.uuid));
    for (const call of snapshot.recent || []) {
      if (!calls.has(call.uuid) || calls.get(call.uuid).call.status !== "ended") {
        if (Date.now() - Date.parse(call.ended_at) < RECENT_MS) applyCall(call);
      }
    }
    // Calls that ended while the socket was down.
    for (const item of calls.values()) {
      if (item.call.status !== "ended" && !live.has(item.call.uuid)) {
        item.call.status = "ended";
        end(item);
      }
    }
    for (const call of snapshot.calls) {
      applyCall(call);
      for (const turn of call.turns) applyTurn(turn);
    }
  }

  function tick() {
    let active = 0;
    for (const [uuid, item] of calls) {
      if (item.call.status === "ended") {
        item.length.textContent = duration(item.call.started_at, item.call.ended_at);
        if (Date.now() - item.endedAt > RECENT_MS) {
          item.card.remove();
          calls.delete(uuid);
        }
      } else {
        active += 1;
        item.length.textContent = duration(item.call.started_at);
      }
    }
    countNote.textContent = String(active);
    emptyNote.hidden = active > 0;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + root.dataset.socketPath);
    setStatus("Connecting…");
    socket.onopen = function () {
      backoff = 1000;
      setStatus("Connected: live", "live-ok");
    };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      if (event.kind === "snapshot") applySnapshot(event);
      else if (event.kind === "call") applyCall(event);
      else if (event.kind === "turn") applyTurn(event);
    };
    socket.onclose = function (closed) {
      if (closed.code === NOT_PERMITTED) {
        setStatus("Not permitted: log in as staff allowed to watch live calls.", "live-refused");
        return;
      }
      const seconds = Math.round(backoff / 1000);
      setStatus("Disconnected: reconnecting in " + seconds + " s…", "live-down");
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("live-calls");
    if (!root) return;
    statusLine = document.getElementById("live-status");
    activeList = document.getElementById("live-active");
    recentList = document.getElementById("live-recent");
    emptyNote = document.getElementById("live-empty");
    countNote = document.getElementById("live-count");
    window.setInterval(tick, 1000);
    connect();
  });
})();
