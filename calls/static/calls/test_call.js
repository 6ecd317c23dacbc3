// The Test call page: a call to the bot from this browser over the websocket /ws/test-call/
// (the protocol: the consumer in calls/), by microphone or text chat. The microphone goes
// through test_call_worklet.js as 20 ms frames of 16-bit PCM; the bot's PCM comes back as
// binary messages and plays through the same worklet. Text is set with textContent only.
//
// What a test (or a curious owner) can read: window.testCall.{state, call, sampleRate,
// sentFrames, receivedSamples, playedSamples}, mirrored as data attributes of #test-call.
"use strict";

(function () {
  const RATE = 16000;
  const PHONE_RATE = 8000;
  // The models' names for languages and outcomes, rendered by the page (calls/monitor.py).
  const LABELS = JSON.parse(document.getElementById("call-labels").textContent);
  const LANGUAGES = LABELS.languages;
  const OUTCOMES = LABELS.outcomes;
  const TIMINGS = ["endpoint_ms", "stt_ms", "agent_ms", "reply_ready_ms", "first_audio_ms"];

  const testCall = {
    state: "idle",
    call: null,
    language: "",
    sampleRate: 0,
    sentFrames: 0,
    receivedSamples: 0,
    playedSamples: 0,
  };
  window.testCall = testCall;

  let root, ui, socket, audio, exchanges;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.className = "tc-status " + (kind || "");
  }

  function setState(state) {
    testCall.state = state;
    root.dataset.state = state;
    const live = state === "live";
    const busy = state === "connecting" || live;
    ui.start.disabled = busy;
    ui.hangup.disabled = !busy;
    for (const field of ui.options.elements) field.disabled = busy;
    ui.phoneQuality.disabled = busy || ui.options.elements.mode.value !== "voice";
    for (const key of ui.keys) key.disabled = !live;
    ui.message.disabled = !live;
    ui.send.disabled = !live;
  }

  function showCounters() {
    root.dataset.sentFrames = String(testCall.sentFrames);
    root.dataset.playedSamples = String(testCall.playedSamples);
    ui.sentFrames.textContent = String(testCall.sentFrames);
    ui.played.textContent = String(testCall.playedSamples);
  }

  function options() {
    const form = ui.options;
    const mode = form.elements.mode.value;
    const phone = mode === "voice" && form.elements.phone_quality.checked;
    return {
      type: "start",
      mode: mode,
      sample_rate: phone ? PHONE_RATE : RATE,
      phone_quality: phone,
      language: form.elements.language.value,
      real_orders: form.elements.real_orders.checked,
    };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // --- Audio -----------------------------------------------------------------------------

  async function openAudio(rate) {
    if (!navigator.mediaDevices || !window.AudioWorkletNode) {
      throw new Error("this browser cannot capture audio here (it needs HTTPS)");
    }
    const context = new AudioContext();
    const result = { context, stream: null, capture: null, player: null };
    try {
      await context.audioWorklet.addModule(root.dataset.workletUrl);
      result.stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          channelCount: 1,
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        },
      });
      const microphone = context.createMediaStreamSource(result.stream);
      result.capture = new AudioWorkletNode(context, "pcm-capture", {
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { rate },
      });
      result.capture.port.onmessage = function (event) {
        if (testCall.state !== "live") return;
        socket.send(event.data);
        testCall.sentFrames += 1;
        if (testCall.sentFrames % 10 === 0) showCounters();
      };
      // Its output is silence; connected so that the browser keeps pulling the microphone.
      microphone.connect(result.capture).connect(context.destination);
      result.player = new AudioWorkletNode(context, "pcm-player", {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { rate },
      });
      result.player.port.onmessage = function (event) {
        testCall.playedSamples = event.data.played;
        result.buffered = event.data.buffered;
        showCounters();
        if (result.buffered === 0 && result.onDrained) result.onDrained();
      };
      result.player.connect(context.destination);
      await context.resume();
    } catch (error) {
      closeAudio(result);
      throw error;
    }
    return result;
  }

  function closeAudio(opened) {
    if (!opened) return;
    if (opened.stream) for (const track of opened.stream.getTracks()) track.stop();
    opened.context.close().catch(function () {});
  }

  // After the call: the microphone stops at once, the bot's last words play out first.
  function finishAudio() {
    const opened = audio;
    audio = null;
    if (!opened) return;
    if (opened.stream) for (const track of opened.stream.getTracks()) track.stop();
    let closed = false;
    const close = function () {
      if (closed) return;
      closed = true;
      closeAudio(opened);
    };
    if (!opened.buffered) return close();
    opened.onDrained = close;
    window.setTimeout(close, 10000);
  }

  // --- Server messages --------------------------------------------------------------------

  function onTurn(turn) {
    const line = el("li", "turn " + (turn.role === "caller" ? "caller" : "bot"));
    line.dataset.role = turn.role;
    line.dataset.sequence = String(turn.sequence);
    if (turn.interrupted) line.classList.add("interrupted");
    const who = turn.role === "caller" ? "You" : "Bot";
    line.append(el("span", "who", turn.via === "dtmf" ? who + " (keypad):" : who + ":"));
    line.append(el("span", "text", turn.text || ""));
    const existing = ui.transcript.querySelector('[data-sequence="' + turn.sequence + '"]');
    if (existing) existing.replaceWith(line);
    else ui.transcript.append(line);
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function describe(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (Array.isArray(value)) return value.map(describe).join(", ");
    if (typeof value === "object") {
      return Object.entries(value)
        .map(([key, item]) => key.replace(/_/g, " ") + ": " + describe(item))
        .join("; ");
    }
    if (value === true) return "yes";
    if (value === false) return "no";
    return String(value);
  }

  function onUnderstood(message) {
    ui.slots.replaceChildren();
    for (const [name, value] of Object.entries(message.slots || {})) {
      if (value === null || value === undefined || value === "") continue;
      const term = el("dt", "", name.replace(/_/g, " "));
      const detail = el("dd");
      if (Array.isArray(value) && value.some((item) => item && typeof item === "object")) {
        const items = el("ol"); // offers: one tire a line
        for (const item of value) items.append(el("li", "", describe(item)));
        detail.append(items);
      } else {
        detail.textContent = describe(value);
      }
      detail.dataset.slot = name;
      ui.slots.append(term, detail);
    }
    ui.expecting.textContent = message.expecting
      ? "The bot expects: " + message.expecting.replace(/_/g, " ")
      : "";
  }

  function onTiming(timing) {
    exchanges += 1;
    const row = el("tr");
    row.append(el("td", "", String(exchanges)));
    for (const key of TIMINGS) {
      const value = timing[key];
      row.append(el("td", "", value === null || value === undefined ? "—" : String(value)));
    }
    ui.timings.append(row);
  }

  function onEnded(message) {
    ui.outcome.textContent = OUTCOMES[message.outcome] || message.outcome || "—";
    ui.reason.textContent = message.reason || "—";
    const orders = message.orders || [];
    ui.orders.textContent = orders.length ? orders.join(", ") : "none";
    ui.sandbox.textContent = message.sandbox
      ? "Sandbox call: its orders take no stock, notify nobody and stay out of the reports."
      : "Real orders were allowed: an order from this call is a normal order.";
    ui.end.hidden = false;
    ui.end.dataset.sandbox = String(Boolean(message.sandbox));
    setState("ended");
    setStatus("Call ended.");
    finishAudio();
  }

  function onMessage(event) {
    if (typeof event.data !== "string") {
      testCall.receivedSamples += event.data.byteLength / 2;
      if (audio) audio.player.port.postMessage(event.data, [event.data]);
      return;
    }
    const message = JSON.parse(event.data);
    if (message.type === "started") {
      testCall.call = message.call;
      testCall.language = message.language || "";
      testCall.sampleRate = message.sample_rate;
      root.dataset.call = message.call;
      setState("live");
      setStatus(
        "In call (" + (LANGUAGES[message.language] || message.language || "") + ")" +
          (message.mode === "voice" ? ": speak now." : ": type below."),
        "tc-live"
      );
    } else if (message.type === "turn") onTurn(message);
    else if (message.type === "understood") onUnderstood(message);
    else if (message.type === "timing") onTiming(message);
    else if (message.type === "language") {
      testCall.language = message.language;
      setStatus("In call (" + (LANGUAGES[message.language] || message.language) + ").", "tc-live");
    } else if (message.type === "ended") onEnded(message);
    else if (message.type === "error") setStatus(message.message, "tc-error");
  }

  function onClose(closed) {
    if (testCall.state === "ended") return;
    const refused = testCall.state === "connecting" && !testCall.call;
    setState("failed");
    if (ui.status.classList.contains("tc-error")) {
      // The server said why (an error message) before it closed.
    } else if (refused) {
      setStatus(
        "The server refused the test call: log in as staff allowed to place test calls.",
        "tc-error"
      );
    } else {
      setStatus("The connection was lost (code " + closed.code + ").", "tc-error");
    }
    finishAudio();
  }

  // --- Controls ---------------------------------------------------------------------------

  function reset() {
    ui.transcript.replaceChildren();
    ui.slots.replaceChildren();
    ui.timings.replaceChildren();
    ui.expecting.textContent = "Nothing yet.";
    ui.end.hidden = true;
    exchanges = 0;
    Object.assign(testCall, { call: null, language: "", sentFrames: 0 });
    Object.assign(testCall, { receivedSamples: 0, playedSamples: 0 });
    delete root.dataset.call;
    showCounters();
  }

  async function start() {
    const request = options();
    reset();
    setState("connecting");
    const voice = request.mode === "voice";
    ui.chat.hidden = voice;
    ui.audio.hidden = !voice;
    if (voice) {
      setStatus("Opening the microphone…");
      try {
        audio = await openAudio(request.sample_rate);
      } catch (error) {
        setState("failed");
        setStatus("No microphone: " + (error.message || error.name || error), "tc-error");
        return;
      }
    }
    setStatus("Connecting…");
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.dataset.socketPath);
    socket.binaryType = "arraybuffer";
    socket.onopen = function () {
      socket.send(JSON.stringify(request));
    };
    socket.onmessage = onMessage;
    socket.onclose = onClose;
  }

  function hangUp() {
    send({ type: "hangup" });
    if (socket && testCall.state === "connecting") socket.close();
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("test-call");
    if (!root) return;
    ui = {
      options: $("tc-options"),
      phoneQuality: $("tc-phone-quality"),
      start: $("tc-start"),
      hangup: $("tc-hangup"),
      status: $("tc-status"),
      audio: $("tc-audio"),
      sentFrames: $("tc-sent-frames"),
      played: $("tc-played"),
      transcript: $("tc-transcript"),
      chat: $("tc-chat"),
      message: $("tc-message"),
      send: $("tc-send"),
      keys: Array.from(document.querySelectorAll("#tc-keypad .tc-key")),
      expecting: $("tc-expecting"),
      slots: $("tc-slots"),
      timings: document.querySelector("#tc-timings tbody"),
      end: $("tc-end"),
      outcome: $("tc-outcome"),
      reason: $("tc-reason"),
      orders: $("tc-orders"),
      sandbox: $("tc-sandbox"),
    };
    const realOrders = $("tc-real-orders");
    const warning = $("tc-real-warning");
    realOrders.addEventListener("change", function () {
      warning.hidden = !realOrders.checked;
    });
    ui.options.addEventListener("change", function () {
      ui.chat.hidden = ui.options.elements.mode.value === "voice";
      setState(testCall.state);
    });
    ui.options.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    ui.start.addEventListener("click", start);
    ui.hangup.addEventListener("click", hangUp);
    for (const key of ui.keys) {
      key.addEventListener("click", function () {
        send({ type: "dtmf", digit: key.dataset.digit });
      });
    }
    ui.chat.addEventListener("submit", function (event) {
      event.preventDefault();
      const text = ui.message.value.trim();
      if (!text || testCall.state !== "live") return;
      send({ type: "text", text: text });
      ui.message.value = "";
    });
    setState("idle");
  });
})();
