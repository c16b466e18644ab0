// Whether a call's audio really flows both ways, read from WebRTC's own counters (getStats): the connection is up
// (a nominated ICE candidate pair that succeeded), the engine's audio packets arrive and our microphone's leave,
// both counters still going up. The page says it is listening only then; if that has not happened within
// CONNECT_LIMIT_MS it says so, with what to check.

export const CONNECT_LIMIT_MS = 8000;
const EVERY_MS = 250;

// Audio packets sent and received, and whether a candidate pair is up, in one RTCStatsReport.
export function tally(report) {
  const found = { pairUp: false, sent: 0, received: 0 };
  if (!report) return found;
  report.forEach((stat) => {
    if (stat.type === "outbound-rtp" && (stat.kind || stat.mediaType) === "audio") found.sent += stat.packetsSent || 0;
    if (stat.type === "inbound-rtp" && (stat.kind || stat.mediaType) === "audio") found.received += stat.packetsReceived || 0;
    if (stat.type === "candidate-pair" && stat.state === "succeeded" && stat.nominated) found.pairUp = true;
  });
  return found;
}

// Polls read() (an async () => {connected, sent, received}) until the audio flows (onFlowing(sample)) or
// limitMs have passed without it (onStalled(lastSample)). Returns a function that stops watching.
export function watchFlow(read, { onFlowing, onStalled, limitMs = CONNECT_LIMIT_MS }) {
  const began = performance.now();
  let last = { connected: false, sent: 0, received: 0 };
  let stopped = false;
  let timer = null;

  async function check() {
    timer = null;
    let sample;
    try {
      sample = await read();
    } catch (_err) {
      sample = { connected: false, sent: last.sent, received: last.received };
    }
    if (stopped) return;
    const flowing = sample.connected && sample.sent > last.sent && sample.received > last.received && last.sent > 0 && last.received > 0;
    last = sample;
    if (flowing) {
      stopped = true;
      onFlowing(sample, performance.now() - began);
    } else if (performance.now() - began >= limitMs) {
      stopped = true;
      onStalled(sample);
    } else {
      timer = setTimeout(check, EVERY_MS);
    }
  }

  timer = setTimeout(check, EVERY_MS);
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}
