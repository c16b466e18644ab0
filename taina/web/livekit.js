// The LiveKit mode: a caller's token from the engine (POST /api/livekit/token: a room named by the engine, which
// has already joined it), the room joined with LiveKit's browser SDK (livekit-client, served from /static/vendor
// by `make install`), the microphone published, the agent's voice played. What the page shows comes on LiveKit's
// own conventions, as LiveKit's client components read them: transcripts on the "lk.transcription" text-stream
// topic, the agent's state in its "lk.agent.state" attribute. Only what those have no word for (an interrupted
// reply, an error, the end of the call) is read from the engine's "taina.events" data topic.
import { tally } from "./flow.js";

const AGENT_STATES = { listening: "listening", thinking: "thinking", speaking: "assistant_speaking" };
const EVENT_TYPES = new Set(["interrupted", "error", "ended"]);

function loadSdk(src) {
  if (window.LivekitClient) return Promise.resolve(window.LivekitClient);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve(window.LivekitClient);
    script.onerror = () => reject(new Error("no se pudo cargar el SDK de LiveKit (" + src + ")"));
    document.head.appendChild(script);
  });
}

async function callerToken(accessToken) {
  const headers = { "Content-Type": "application/json" };
  if (accessToken) headers.Authorization = "Bearer " + accessToken;
  const response = await fetch("/api/livekit/token", { method: "POST", headers, body: "{}" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || "el servidor respondió " + response.status);
  return body;
}

// Same contract as startDirect (direct.js): hooks event(e), remoteAudio(stream), lost(); returns {ready, stats,
// close}.
export function startLiveKit(microphone, hooks, { accessToken, sdkUrl }) {
  let room = null;
  let agentTrack = null;
  let agentIdentity = null;
  let micPublication = null;
  let closing = false;

  async function join() {
    const LK = await loadSdk(sdkUrl);
    const grant = await callerToken(accessToken);
    if (closing) return;
    room = new LK.Room({ adaptiveStream: false, dynacast: false });
    const isAgent = (participant) => participant && participant.identity !== room.localParticipant.identity;
    const showState = (participant) => {
      const state = AGENT_STATES[participant.attributes["lk.agent.state"]];
      if (state) hooks.event({ type: "state", state });
    };

    room.on(LK.RoomEvent.TrackSubscribed, (track, _publication, participant) => {
      if (track.kind !== LK.Track.Kind.Audio || !isAgent(participant) || agentTrack) return;
      agentTrack = track;
      agentIdentity = participant.identity;
      hooks.remoteAudio(new MediaStream([track.mediaStreamTrack]));
    });
    room.on(LK.RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      if ("lk.agent.state" in changed && isAgent(participant)) showState(participant);
    });
    room.on(LK.RoomEvent.ParticipantDisconnected, (participant) => {
      if (participant.identity === agentIdentity) hooks.event({ type: "ended" });
    });
    room.on(LK.RoomEvent.Disconnected, () => {
      if (!closing) hooks.lost();
    });
    room.on(LK.RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
      if (topic !== "taina.events") return;
      let event;
      try {
        event = JSON.parse(new TextDecoder().decode(payload));
      } catch (_err) {
        return;
      }
      if (EVENT_TYPES.has(event.type)) hooks.event(event);
    });
    room.registerTextStreamHandler("lk.transcription", async (reader) => {
      const attributes = reader.info.attributes || {};
      const text = await reader.readAll();
      const track = attributes["lk.transcribed_track_id"];
      const mine = Boolean(micPublication && track && track === micPublication.trackSid);
      hooks.event({
        type: "transcript",
        role: mine ? "user" : "assistant",
        text,
        turn: attributes["lk.segment_id"] || "",
        interim: attributes["lk.transcription_final"] === "false",
      });
    });

    await room.connect(grant.url, grant.token, { autoSubscribe: true });
    micPublication = await room.localParticipant.publishTrack(microphone.getAudioTracks()[0], {
      source: LK.Track.Source.Microphone,
      name: "microphone",
    });
    room.remoteParticipants.forEach((participant) => showState(participant));
  }

  const ready = join().catch((err) => {
    if (room) room.disconnect();
    throw err;
  });

  return {
    mode: "livekit",
    ready,
    async stats() {
      const [sent, heard] = await Promise.all([
        micPublication && micPublication.track ? micPublication.track.getRTCStatsReport() : undefined,
        agentTrack ? agentTrack.getRTCStatsReport() : undefined,
      ]);
      const out = tally(sent);
      const back = tally(heard);
      const connected = Boolean(room) && room.state === "connected" && out.pairUp && back.pairUp;
      return { connected, sent: out.sent, received: back.received };
    },
    close() {
      closing = true;
      if (room) room.disconnect();
    },
  };
}
