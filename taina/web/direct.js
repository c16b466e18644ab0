// The direct mode: one WebRTC call to the engine itself (POST /api/rtc/offer), its events on a data channel.
import { tally } from "./flow.js";

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

// A call with the microphone's stream. hooks: event(e) for the engine's events ({type: state | transcript |
// interrupted | error | ended, ...}), remoteAudio(stream), lost() when the connection fails. The call: ready (a
// promise, rejected with a message when the engine cannot be reached or refuses), stats() for the flow watch
// (flow.js), close().
export function startDirect(microphone, hooks, { accessToken }) {
  const pc = new RTCPeerConnection();
  microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
  const channel = pc.createDataChannel("events");
  channel.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (_err) {
      return;
    }
    hooks.event(event);
  };
  pc.ontrack = (event) => hooks.remoteAudio(event.streams[0] || new MediaStream([event.track]));
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed") hooks.lost();
  };

  const ready = (async () => {
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
    if (pc.signalingState !== "closed") await pc.setRemoteDescription({ type: body.type, sdp: body.sdp });
  })();

  return {
    mode: "direct",
    ready,
    async stats() {
      const found = tally(await pc.getStats());
      return { connected: found.pairUp && pc.connectionState === "connected", sent: found.sent, received: found.received };
    },
    close() {
      if (channel.readyState === "open") channel.send(JSON.stringify({ type: "bye" }));
      setTimeout(() => pc.close(), 100); // let "bye" leave first
    },
  };
}
