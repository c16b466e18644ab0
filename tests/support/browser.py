"""Headless Chromium for the browser tests: what it hears through its fake microphone, its flags, and a watch on
what the voice page says (WATCH_STATUS)."""

from __future__ import annotations

from pathlib import Path

# espeak-ng's robotic voice through Opus is hard for Whisper base; this sentence survives it reliably.
QUESTION = "Buenos días, necesito información sobre los precios."


def chromium_flags(microphone: Path) -> list[str]:
    return [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
    ]


# Installed in the page before its own scripts (``add_init_script``), independent of the page's code: every text the
# status line shows, with when, in ``window.testStatuses``; every RTCPeerConnection made (the page's or LiveKit's
# SDK's) is kept, and at the first "Te escucho" their own counters are read into ``window.testAtListening``: the
# connection states and the audio packets sent and received so far.
WATCH_STATUS = """
(() => {
  const made = [];
  let snapped = false;
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      const index = made.push(this) - 1;
      for (const kind of ["connectionstatechange", "iceconnectionstatechange", "signalingstatechange", "icegatheringstatechange"]) {
        this.addEventListener(kind, () => window.testPeerEvents.push(
          `${Math.round(performance.now())} pc${index} ${kind.replace("statechange", "")}: ` +
          `${this.connectionState}/${this.iceConnectionState}/${this.signalingState}/${this.iceGatheringState}`));
      }
    }
  };
  // For a failure's report: every connection's states and descriptions.
  window.testPeers = () => made.map((pc) => ({
    connection: pc.connectionState, ice: pc.iceConnectionState, signaling: pc.signalingState,
    local: pc.localDescription && pc.localDescription.sdp, remote: pc.remoteDescription && pc.remoteDescription.sdp,
  }));
  window.testStatuses = [];
  window.testPeerEvents = [];
  window.testPeersAtStall = null;
  window.testAtListening = null;
  async function snapshot() {
    const found = { at: performance.now(), states: made.map((pc) => pc.connectionState), sent: 0, received: 0 };
    for (const pc of made) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === "outbound-rtp" && s.kind === "audio") found.sent += s.packetsSent || 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") found.received += s.packetsReceived || 0;
      });
    }
    window.testAtListening = found;
  }
  document.addEventListener("DOMContentLoaded", () => {
    const status = document.querySelector("[data-testid=status]");
    const seen = () => {
      const text = status.textContent.trim();
      window.testStatuses.push({ text, state: status.dataset.state || "", at: performance.now() });
      if (status.dataset.state === "no_audio" && window.testPeersAtStall === null) window.testPeersAtStall = window.testPeers();
      if (text.includes("Te escucho") && !snapped) {
        snapped = true;
        snapshot();
      }
    };
    seen();
    new MutationObserver(seen).observe(status, { childList: true, characterData: true, subtree: true, attributes: true });
  });
})();
"""
