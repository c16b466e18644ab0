// The voice page: one WebRTC call to the assistant, its events on a data channel, the reply played back.
"use strict";

const STATUS = {
  idle: "Pulsa «Hablar» y haz tu pregunta.",
  connecting: "Conectando…",
  listening: "Te escucho. Habla cuando quieras.",
  user_speaking: "Te escucho…",
  thinking: "Pensando…",
  assistant_speaking: "Respondiendo…",
  ended: "Conversación terminada. Pulsa «Hablar» para empezar otra.",
};

const talk = document.getElementById("talk");
const statusEl = document.getElementById("status");
const errorEl = document.getElementById("error");
const transcript = document.getElementById("transcript");
const replyEl = document.getElementById("reply");

// Tests set ?raw=1 so the fake microphone reaches the server unaltered; people keep echo cancellation on.
const raw = new URLSearchParams(location.search).has("raw");
// An assistant that needs its access link is opened as /?token=...: the token is taken out of the address at once
// (out of the history, bookmarks and screenshots), kept in this tab's session storage (a reload still works) and
// sent only in the offer's Authorization header.
const accessToken = (() => {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get("token");
  if (fromLink === null) {
    try {
      return sessionStorage.getItem("taina.accessToken");
    } catch (_err) {
      return null;
    }
  }
  try {
    sessionStorage.setItem("taina.accessToken", fromLink);
  } catch (_err) {
    // no storage (a private window): the token still works until the page is left
  }
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  return fromLink;
})();

// What the page has heard of the reply, for people (the ring) and for tests.
window.tainaAudio = { peakRms: 0, loudFrames: 0, loudAt: [] };

let call = null;

function setStatus(state) {
  statusEl.dataset.state = state;
  statusEl.textContent = STATUS[state] || state;
}

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = !message;
}

let interimLine = null; // what the caller is saying, as the speech-to-text hears it so far

function showInterim(text) {
  if (!interimLine) {
    interimLine = document.createElement("li");
    interimLine.dataset.role = "user";
    interimLine.dataset.interim = "true";
    transcript.appendChild(interimLine);
  }
  interimLine.textContent = text;
  interimLine.scrollIntoView({ block: "nearest" });
  window.tainaInterims = (window.tainaInterims || 0) + 1; // read by the browser tests
}

function dropInterim() {
  if (interimLine) interimLine.remove();
  interimLine = null;
}

function addLine(role, text, turn) {
  if (role === "user") dropInterim();
  const last = transcript.lastElementChild;
  // A reply arrives clause by clause: they join into one line per turn.
  if (role === "assistant" && last && last.dataset.role === "assistant" && last.dataset.turn === String(turn)) {
    last.textContent += " " + text;
    return;
  }
  const item = document.createElement("li");
  item.dataset.role = role;
  item.dataset.turn = String(turn);
  item.textContent = text;
  if (role === "assistant" && interimLine) transcript.insertBefore(item, interimLine);
  else transcript.appendChild(item);
  item.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function markInterrupted(turn) {
  const lines = transcript.querySelectorAll(`li[data-role="assistant"][data-turn="${turn}"]`);
  lines.forEach((line) => { line.dataset.interrupted = "true"; });
  window.tainaInterruptions = (window.tainaInterruptions || 0) + 1; // read by the browser tests
  window.tainaInterruptedAt = performance.now();
}

function microphoneError(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
    return "No tenemos permiso para usar el micrófono. Permítelo en la barra de direcciones del navegador y vuelve a pulsar «Hablar».";
  }
  if (err && err.name === "NotFoundError") {
    return "No encontramos ningún micrófono. Conecta uno y vuelve a intentarlo.";
  }
  if (err && err.name === "NotReadableError") {
    return "Otro programa está usando el micrófono. Ciérralo y vuelve a intentarlo.";
  }
  return "No pudimos abrir el micrófono (" + (err && err.message ? err.message : err) + ").";
}

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}

function watchReplyLevel(stream, audioContext) {
  const source = audioContext.createMediaStreamSource(stream);
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    window.tainaAudio.peakRms = Math.max(window.tainaAudio.peakRms, rms);
    if (rms > 0.01) {
      window.tainaAudio.loudFrames += 1;
      const loudAt = window.tainaAudio.loudAt; // when the reply was heard (performance.now), the latest 2000
      loudAt.push(performance.now());
      if (loudAt.length > 2000) loudAt.shift();
    }
    talk.style.setProperty("--level", Math.min(rms * 4, 0.25).toFixed(3));
  }, 50);
}

function handleEvent(message) {
  let event;
  try {
    event = JSON.parse(message.data);
  } catch (_err) {
    return;
  }
  if (event.type === "state") {
    setStatus(event.state);
    if (event.state === "listening") dropInterim();
  } else if (event.type === "transcript" && event.interim) showInterim(event.text);
  else if (event.type === "transcript") addLine(event.role, event.text, event.turn);
  else if (event.type === "interrupted") markInterrupted(event.turn);
  else if (event.type === "error") showError(event.message);
}

async function start() {
  showError("");
  talk.disabled = true;
  setStatus("connecting");
  let microphone;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: raw
        ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
        : { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (err) {
    talk.disabled = false;
    setStatus("idle");
    showError(microphoneError(err));
    return;
  }

  const audioContext = new AudioContext();
  const pc = new RTCPeerConnection();
  call = { pc, microphone, audioContext, meter: null, channel: null };
  microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
  call.channel = pc.createDataChannel("events");
  call.channel.onmessage = handleEvent;
  pc.ontrack = (event) => {
    const stream = event.streams[0] || new MediaStream([event.track]);
    replyEl.srcObject = stream; // Chrome only feeds WebAudio from a remote track that a media element plays.
    call.meter = watchReplyLevel(stream, audioContext);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed") {
      showError("Se perdió la conexión con el asistente. Pulsa «Hablar» para volver a intentarlo.");
      stop("ended");
    }
  };

  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 3000);
    const headers = { "Content-Type": "application/json" };
    if (accessToken) headers.Authorization = "Bearer " + accessToken;
    const response = await fetch("/api/rtc/offer", {
      method: "POST",
      headers,
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || "el servidor respondió " + response.status);
    await pc.setRemoteDescription({ type: body.type, sdp: body.sdp });
  } catch (err) {
    showError("No se pudo conectar con el asistente: " + err.message);
    stop("idle");
    return;
  }
  talk.disabled = false;
  talk.setAttribute("aria-pressed", "true");
  talk.querySelector(".label").textContent = "Terminar";
  setStatus("listening");
}

function stop(finalState) {
  if (!call) return;
  const { pc, microphone, audioContext, meter, channel } = call;
  call = null;
  if (channel && channel.readyState === "open") channel.send(JSON.stringify({ type: "bye" }));
  if (meter) clearInterval(meter);
  microphone.getTracks().forEach((track) => track.stop());
  setTimeout(() => pc.close(), 100); // let "bye" leave first
  audioContext.close();
  talk.disabled = false;
  talk.setAttribute("aria-pressed", "false");
  talk.querySelector(".label").textContent = "Hablar";
  talk.style.setProperty("--level", "0");
  setStatus(finalState);
}

talk.addEventListener("click", () => (call ? stop("ended") : start()));
window.addEventListener("pagehide", () => stop("ended"));
