// The voice page: a call to the assistant in one of two modes, direct WebRTC to the engine (direct.js) or a LiveKit
// room (livekit.js), chosen from what the engine serves (GET /api/voice/modes) and /?mode=direct|livekit. The
// conversation is shown the same way in both. The page says it is listening only once audio really flows both
// ways (flow.js); if it does not within a few seconds, it says so and what to check.
import { CONNECT_LIMIT_MS, watchFlow } from "./flow.js";
import { startDirect } from "./direct.js";
import { startLiveKit } from "./livekit.js";

const STATUS = {
  idle: "Pulsa «Hablar» y haz tu pregunta.",
  connecting: "Conectando…",
  listening: "Te escucho. Habla cuando quieras.",
  user_speaking: "Te escucho…",
  thinking: "Pensando…",
  assistant_speaking: "Respondiendo…",
  no_audio: "No hay conexión de audio con el asistente.",
  ended: "Conversación terminada. Pulsa «Hablar» para empezar otra.",
};
const MODES = {
  direct: "Conexión directa con el asistente (WebRTC).",
  livekit: "Conexión a través de LiveKit.",
};
const CHECKS = [
  "Que tu red o tu cortafuegos permita el tráfico UDP: la voz viaja por WebRTC sobre UDP.",
  "Si tu red lo bloquea (oficina, hotel, VPN), que el asistente tenga configurado un servidor TURN.",
  "Que el navegador tenga permiso para usar el micrófono y que el micrófono no esté silenciado.",
];

const talk = document.getElementById("talk");
const statusEl = document.getElementById("status");
const errorEl = document.getElementById("error");
const transcript = document.getElementById("transcript");
const replyEl = document.getElementById("reply");
const modeEl = document.getElementById("mode");
const params = new URLSearchParams(location.search);

// Tests set ?raw=1 so the fake microphone reaches the server unaltered; people keep echo cancellation on.
const raw = params.has("raw");
// An assistant that needs its access link is opened as /?token=...: the token is taken out of the address at once
// (out of the history, bookmarks and screenshots), kept in this tab's session storage (a reload still works) and
// sent only in the Authorization header of the call's first request.
const accessToken = (() => {
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
  const rest = new URLSearchParams(location.search);
  rest.delete("token");
  const query = rest.toString();
  history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
  return fromLink;
})();

// Which way this page connects: the engine's default, or the one asked for with ?mode= when the engine has it.
const chosen = fetch("/api/voice/modes")
  .then((response) => (response.ok ? response.json() : null))
  .catch(() => null)
  .then((found) => {
    const offered = found ? found.modes : ["direct"];
    let mode = found ? found.default : "direct";
    let note = "";
    const asked = params.get("mode");
    if (asked && offered.includes(asked)) mode = asked;
    else if (asked === "livekit") note = " El modo LiveKit no está disponible en este servidor.";
    modeEl.textContent = MODES[mode] + note;
    modeEl.dataset.mode = mode;
    return { mode, sdkUrl: found ? found.livekit_client : null };
  });

// What the page has heard of the reply, for people (the ring) and for tests; and how the call came up.
window.tainaAudio = { peakRms: 0, loudFrames: 0, loudAt: [] };
window.tainaCall = null;

let call = null;

function setStatus(state) {
  statusEl.dataset.state = state;
  statusEl.textContent = STATUS[state] || state;
}

function showError(message, checks) {
  errorEl.replaceChildren();
  errorEl.hidden = !message;
  if (!message) return;
  const text = document.createElement("p");
  text.textContent = message;
  errorEl.appendChild(text);
  if (checks && checks.length) {
    const intro = document.createElement("p");
    intro.textContent = "Revisa:";
    const list = document.createElement("ul");
    for (const check of checks) {
      const item = document.createElement("li");
      item.textContent = check;
      list.appendChild(item);
    }
    const retry = document.createElement("p");
    retry.textContent = "Luego pulsa «Hablar» para volver a intentarlo.";
    errorEl.append(intro, list, retry);
  }
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

// The engine's events, in the direct path's words (livekit.js translates LiveKit's into them). Until the audio
// flows, the engine's state is kept, not shown: it may say "listening" before anything can be heard.
function handleEvent(current, event) {
  if (call !== current) return;
  if (event.type === "state") {
    if (current.flowing) setStatus(event.state);
    else current.pending = event.state;
    if (event.state === "listening") dropInterim();
  } else if (event.type === "transcript" && event.interim) showInterim(event.text);
  else if (event.type === "transcript") addLine(event.role, event.text, event.turn);
  else if (event.type === "interrupted") markInterrupted(event.turn);
  else if (event.type === "error") showError(event.message);
  else if (event.type === "ended") stop("ended");
}

function noAudio(current, sample) {
  if (call !== current) return;
  let what;
  if (!sample.connected) what = "No se pudo establecer la conexión de audio con el asistente.";
  else if (!sample.received) what = "La conexión se estableció, pero no llega el audio del asistente.";
  else what = "La conexión se estableció, pero tu micrófono no está enviando audio.";
  window.tainaCall.stalledAt = performance.now();
  window.tainaCall.sample = sample;
  showError(`${what} Lo intentamos durante ${CONNECT_LIMIT_MS / 1000} segundos.`, CHECKS);
  stop("no_audio");
}

async function start() {
  showError("");
  talk.disabled = true;
  setStatus("connecting");
  const { mode, sdkUrl } = await chosen;
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

  const current = { microphone, audioContext: new AudioContext(), meter: null, link: null, flowing: false,
                    pending: "listening", unwatch: null };
  call = current;
  window.tainaCall = { mode, startedAt: performance.now(), flowingAt: null, stalledAt: null, sample: null };
  const hooks = {
    event: (event) => handleEvent(current, event),
    remoteAudio: (stream) => {
      if (call !== current) return;
      replyEl.srcObject = stream; // Chrome only feeds WebAudio from a remote track that a media element plays.
      if (current.meter === null) current.meter = watchReplyLevel(stream, current.audioContext);
    },
    lost: () => {
      if (call !== current) return;
      if (!current.flowing) {
        noAudio(current, { connected: false, sent: 0, received: 0 });
        return;
      }
      showError("Se perdió la conexión con el asistente. Pulsa «Hablar» para volver a intentarlo.");
      stop("ended");
    },
  };
  current.link = mode === "livekit"
    ? startLiveKit(microphone, hooks, { accessToken, sdkUrl })
    : startDirect(microphone, hooks, { accessToken });
  // The bound runs from here: signalling, ICE and the first packets both ways must fit in it.
  current.unwatch = watchFlow(() => current.link.stats(), {
    onFlowing: (sample) => {
      if (call !== current) return;
      current.flowing = true;
      window.tainaCall.flowingAt = performance.now();
      window.tainaCall.sample = sample;
      setStatus(current.pending);
    },
    onStalled: (sample) => noAudio(current, sample),
  });
  talk.disabled = false;
  talk.setAttribute("aria-pressed", "true");
  talk.querySelector(".label").textContent = "Terminar";
  try {
    await current.link.ready;
  } catch (err) {
    if (call !== current) return;
    showError("No se pudo conectar con el asistente: " + err.message);
    stop("idle");
  }
}

function stop(finalState) {
  if (!call) return;
  const current = call;
  call = null;
  if (current.unwatch) current.unwatch();
  if (current.link) current.link.close();
  if (current.meter !== null) clearInterval(current.meter);
  current.microphone.getTracks().forEach((track) => track.stop());
  current.audioContext.close();
  dropInterim();
  talk.disabled = false;
  talk.setAttribute("aria-pressed", "false");
  talk.querySelector(".label").textContent = "Hablar";
  talk.style.setProperty("--level", "0");
  setStatus(finalState);
}

talk.addEventListener("click", () => (call ? stop("ended") : start()));
window.addEventListener("pagehide", () => stop("ended"));
