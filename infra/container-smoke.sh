#!/usr/bin/env bash
# Build the engine image (infra/Containerfile) with Debian's podman on this machine, with no registry, and
# smoke-test it: the image runs as a non-root user on a read-only root file system with one writable volume,
# `taina converse` answers a spoken question (a WAV made with the image's own espeak-ng), and `taina serve`
# answers /readyz 200, then drains and exits 0 on SIGTERM.
#
# The base image is Debian bookworm from debootstrap (about 1 min, once): its root file system is cached as a
# tarball under .container-cache/ (git-ignored) and imported into podman's image store, which lives outside the
# clone, so later runs and fresh clones on the same machine skip it. Built layers are cached by podman too.
#
# Needs root (apt-get, podman's chroot isolation). Usage: infra/container-smoke.sh   (TAINA_SMOKE_KEEP=1 keeps the image)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=localhost/bookworm-python:local
IMAGE=localhost/taina-voice:smoke-$$  # untagged at the end; its layers stay cached
CACHE=.container-cache
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
started=$(date +%s)
phase_start=$started

phase() {
    local now
    now=$(date +%s)
    echo "container-smoke: $1 ($((now - phase_start)) s)"
    phase_start=$now
}

if [ "$(id -u)" -ne 0 ]; then
    echo "container-smoke: needs root (apt-get, podman --isolation=chroot); skipped" >&2
    exit 0
fi

missing=()
for tool in podman buildah runc debootstrap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc debootstrap >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc debootstrap >/dev/null; }
    phase "installed ${missing[*]}"
fi

if ! podman image exists "$BASE_IMAGE"; then
    mkdir -p "$CACHE"
    if [ ! -s "$CACHE/bookworm-rootfs.tar" ]; then
        rm -rf "$CACHE/rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$CACHE/rootfs" \
            >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
        tar -C "$CACHE/rootfs" -cf "$CACHE/bookworm-rootfs.tar.partial" .
        mv "$CACHE/bookworm-rootfs.tar.partial" "$CACHE/bookworm-rootfs.tar"
        rm -rf "$CACHE/rootfs"
        phase "debootstrapped Debian bookworm"
    fi
    podman import --quiet "$CACHE/bookworm-rootfs.tar" "$BASE_IMAGE" >/dev/null
    phase "imported the base image $BASE_IMAGE"
fi

# pip inside the build needs the host's CA bundle (this machine's registries are reached through it).
podman build --layers --pull=never --isolation=chroot --network=host --format docker \
    --build-arg BASE="$BASE_IMAGE" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -f infra/Containerfile -t "$IMAGE" . >/dev/null
phase "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"

data=$(mktemp -d /tmp/taina-smoke.XXXXXX)
chown 10001:10001 "$data"
# `podman run` cannot start containers on this machine (runc cannot set the container's rlimits here), so the
# image is run the way it was built: buildah's chroot isolation, as the image's user, /data the only volume (its
# files stay in the working container here: read them from inside). The
# user owns nothing outside /data (and the world-writable /tmp), so this also shows the engine needs no writable
# root file system. Elsewhere: podman/docker run --read-only --tmpfs /tmp -v DATA:/data --cap-drop=ALL.
ctr=$(buildah from --pull-never --quiet "$IMAGE")
serve_pid=""
cleanup() {
    if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then kill -KILL "$serve_pid" 2>/dev/null || true; fi
    buildah rm "$ctr" >/dev/null 2>&1 || true
    [ -n "${TAINA_SMOKE_KEEP:-}" ] || podman untag "$IMAGE" >/dev/null 2>&1 || true
    rm -rf "$data"
}
trap cleanup EXIT
run=(buildah run --isolation=chroot --network=host --user 10001:10001 -v "$data:/data"
     --env TAINA_LOG_LEVEL=warning --env TAINA_DATA_DIR=/data --env HOME=/data --workingdir /data "$ctr" --)

user=$("${run[@]}" id -u)
[ "$user" = 10001 ] || { echo "container-smoke: the image runs as uid $user, not 10001" >&2; exit 1; }
if "${run[@]}" sh -c 'touch /opt/taina/probe || touch /probe' 2>/dev/null; then
    echo "container-smoke: the image's user can write outside /data" >&2
    exit 1
fi

"${run[@]}" python3 -c '
import numpy as np
from adapters.espeak_tts import EspeakEngine, EspeakSettings
from adapters.wavfile import write_wav
engine = EspeakEngine(EspeakSettings(rate=150))
speech = engine.synthesize_now("Buenos días, necesito información sobre los precios.")
quiet = np.zeros(engine.sample_rate // 2, dtype=np.int16)
write_wav("/data/pregunta.wav", np.concatenate([quiet, speech, quiet, quiet, quiet, quiet]), engine.sample_rate)
'
answer=$("${run[@]}" taina converse /data/pregunta.wav --out /data/respuesta.wav)
size=$("${run[@]}" python3 -c 'import os; print(os.path.getsize("/data/respuesta.wav"))')
python3 - "$answer" "$size" <<'PY'
import json, sys
turn = json.loads(sys.argv[1])
assert "buenos" in turn["transcript"].lower(), turn
assert turn["reply"] and int(sys.argv[2]) > 10_000, (turn, sys.argv[2])
print(f"container-smoke: converse heard {turn['transcript']!r}, first audio at {turn['timings_ms']['first_audio']:.0f} ms")
PY
phase "taina converse in the container"

"${run[@]}" env TAINA_HTTP_PORT="$PORT" TAINA_HTTP_DRAIN_S=10 TAINA_LOG_LEVEL=info \
    sh -c 'echo "pid $$"; exec taina serve' >"$data/serve.log" 2>&1 &
runner=$!
ready=""
for _ in $(seq 1 240); do
    [ -n "$serve_pid" ] || serve_pid=$(sed -n 's/^pid //p' "$data/serve.log" | head -1)
    if ready=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/readyz', timeout=2).read().decode())" 2>/dev/null); then
        break
    fi
    if ! kill -0 "$runner" 2>/dev/null; then
        tail -30 "$data/serve.log" >&2
        echo "container-smoke: taina serve exited" >&2
        exit 1
    fi
    sleep 0.5
done
[ -n "$ready" ] || { tail -30 "$data/serve.log" >&2; echo "container-smoke: /readyz never answered 200" >&2; exit 1; }
echo "container-smoke: /readyz $ready"
kill -TERM "$serve_pid"
code=0
wait "$runner" || code=$?
[ "$code" = 0 ] || { tail -30 "$data/serve.log" >&2; echo "container-smoke: serve exited $code on SIGTERM" >&2; exit 1; }
grep -q '"event": "server.draining"' "$data/serve.log" || { echo "container-smoke: no drain on SIGTERM" >&2; exit 1; }
phase "taina serve: ready, then SIGTERM and exit 0"
# The voice page's LiveKit mode needs LiveKit's browser SDK inside the image (the Containerfile's web stage).
"${run[@]}" sh -c 'test -s /opt/taina/venv/lib/python3*/site-packages/taina/web/vendor/livekit-client.umd.js' \
    || { echo "container-smoke: the LiveKit browser SDK is missing from the image" >&2; exit 1; }
phase "the LiveKit browser SDK is in the image"
echo "container-smoke: passed in $(( $(date +%s) - started )) s"
