#!/usr/bin/env bash
# Build the engine image (infra/Containerfile) with Debian's podman on this machine, with no registry, and run it
# with `podman run` the way a pod runs it (infra/helm/taina): a read-only root file system, one writable data
# volume and a tmpfs /tmp, the image's non-root user, no capabilities, no new privileges. Inside it
# `taina converse` answers a spoken question (a WAV made with the image's own espeak-ng), `taina serve` answers
# /readyz 200, the image's HEALTHCHECK passes (`podman healthcheck run`), and SIGTERM during a call (made from
# the host by infra/smoke_call.py) refuses new calls, lets that one finish, and exits 0.
#
# The base image is Debian bookworm from debootstrap (about 1 min, once): its root file system is cached as a
# tarball under .container-cache/ (git-ignored) and imported into podman's image store, which lives outside the
# clone, so later runs and fresh clones on the same machine skip it. Built layers are cached by podman too.
#
# Needs root (apt-get, podman's chroot isolation); reads nothing from stdin (CI). TAINA_SMOKE_BASE=IMAGE builds
# on a registry's base image instead of the local debootstrap one (GitHub's runners).
# Usage: infra/container-smoke.sh   (the image stays tagged localhost/taina-voice:smoke)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=localhost/bookworm-python:local
# The newest smoke-tested image keeps this tag (its layers are the next build's cache); the test runs the image
# by its ID, so a concurrent run elsewhere that moves the tag does not change what this one tests. Older smoke
# images (labelled taina.smoke) are pruned at the end, once nothing uses them.
TAG=localhost/taina-voice:smoke
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

# TAINA_SMOKE_BASE: a base image from a registry instead (GitHub's runners: python:3.11-slim-bookworm), pulled
# once; no debootstrap then.
tools=(podman runc)
[ -n "${TAINA_SMOKE_BASE:-}" ] || tools+=(debootstrap)
missing=()
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${tools[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${tools[@]}" >/dev/null; }
    phase "installed ${missing[*]}"
fi

if [ -n "${TAINA_SMOKE_BASE:-}" ]; then
    BASE_IMAGE=$TAINA_SMOKE_BASE
    podman image exists "$BASE_IMAGE" || podman pull --quiet "$BASE_IMAGE" >/dev/null
elif ! podman image exists "$BASE_IMAGE"; then
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

# pip inside the build needs the host's CA bundle (this machine's registries are reached through it). The build
# stage is tagged too: untagged, it would be pruned with the old images below and the next build would start
# over instead of reusing it.
build=(podman build --layers --pull=never --isolation=chroot --network=host --format docker
       --build-arg BASE="$BASE_IMAGE" -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
       --label taina.smoke=1 -f infra/Containerfile)
"${build[@]}" --target build -t "$TAG-build" . >/dev/null
"${build[@]}" -t "$TAG" . >/dev/null
IMAGE=$(podman image inspect --format '{{.Id}}' "$TAG")
phase "built $TAG ${IMAGE:0:12} ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"

data=$(mktemp -d /tmp/taina-smoke.XXXXXX)
podman_log=$(mktemp /tmp/taina-smoke-podman.XXXXXX)
chown 10001:10001 "$data"
chmod 0700 "$data"
serve=taina-smoke-$$
cleanup() {
    podman rm --force --time 0 "$serve" >/dev/null 2>&1 || true
    podman image prune --force --filter label=taina.smoke=1 >/dev/null 2>&1 || true
    rm -rf "$data" "$podman_log"
}
trap cleanup EXIT

# The image runs as a pod runs it (infra/helm/taina: readOnlyRootFilesystem, runAsNonRoot, drop ALL,
# allowPrivilegeEscalation false): a read-only root, the data volume and a tmpfs /tmp the only writable places,
# the image's own user, no capabilities, no new privileges.
#
# Resource limits: podman asks runc for RLIMIT_NOFILE 1048576 and a large RLIMIT_NPROC by default, and runc
# cannot raise a hard limit without CAP_SYS_RESOURCE, which root lacks in this kind of sandbox ("error setting
# rlimit type 7: operation not permitted"). So the container gets the host's own hard limit for open files and
# a modest process limit (podman lowers its own to 32768, and conmon and runc inherit that, so the host's hard
# limit for processes is not reachable either). Both are limits a pod would live with; on a normal host they are
# simply lower than the defaults.
#
# Healthchecks: without systemd podman cannot schedule the HEALTHCHECK's timer and logs that as an error; the
# check itself is run below with `podman healthcheck run`. podman's stderr goes to a log shown on failure.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nofile" -gt 1048576 ] && nofile=1048576
opts=(--pull=never --runtime runc --network=host
     --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096
     --read-only --read-only-tmpfs=false --tmpfs "/tmp:rw,nosuid,nodev,size=256m,mode=1777"
     -v "$data:/data:rw" --user 10001:10001 --cap-drop=all --security-opt no-new-privileges
     --env TAINA_LOG_LEVEL=warning)
run=(podman run --rm "${opts[@]}")
fail() {
    echo "container-smoke: $1" >&2
    [ -s "$podman_log" ] && grep -v 'systemd connection' "$podman_log" | tail -20 >&2
    exit 1
}

# The confinement itself: who the process is, what it may write, which capabilities it holds.
confinement=$("${run[@]}" --entrypoint sh "$IMAGE" -c '
    id -u
    touch /probe 2>/dev/null && echo "root file system writable"
    touch /opt/taina/probe 2>/dev/null && echo "/opt/taina writable"
    touch /data/probe && rm /data/probe || echo "/data not writable"
    touch /tmp/probe && rm /tmp/probe || echo "/tmp not writable"
    grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status' </dev/null 2>>"$podman_log") \
    || fail "the image does not start under podman run"
expected="10001
CapEff:	0000000000000000
CapBnd:	0000000000000000
NoNewPrivs:	1"
[ "$confinement" = "$expected" ] || fail "the container is not confined as expected: $confinement"
phase "podman run: uid 10001, read-only root, /data and /tmp writable, no capabilities, no new privileges"

"${run[@]}" --entrypoint python3 "$IMAGE" -c '
import numpy as np
from adapters.espeak_tts import EspeakEngine, EspeakSettings
from adapters.wavfile import write_wav
engine = EspeakEngine(EspeakSettings(rate=150))
speech = engine.synthesize_now("Buenos días, necesito información sobre los precios.")
quiet = np.zeros(engine.sample_rate // 2, dtype=np.int16)
write_wav("/data/pregunta.wav", np.concatenate([quiet, speech, quiet, quiet, quiet, quiet]), engine.sample_rate)
' </dev/null 2>>"$podman_log" || fail "could not make the question's WAV inside the image"
answer=$("${run[@]}" "$IMAGE" converse /data/pregunta.wav --out /data/respuesta.wav </dev/null 2>>"$podman_log") \
    || fail "taina converse failed"
python3 - "$answer" "$(stat -c %s "$data/respuesta.wav")" <<'PY'
import json, sys
turn = json.loads(sys.argv[1])
assert "buenos" in turn["transcript"].lower(), turn
assert turn["reply"] and int(sys.argv[2]) > 10_000, (turn, sys.argv[2])
print(f"container-smoke: converse heard {turn['transcript']!r}, first audio at {turn['timings_ms']['first_audio']:.0f} ms")
PY
phase "taina converse in the container"

# `taina serve` as the image's default command, detached, on a free port of the host's loopback.
podman run "${opts[@]}" --log-driver=k8s-file --detach --name "$serve" \
    --env TAINA_HTTP_HOST=127.0.0.1 --env TAINA_HTTP_PORT="$PORT" --env TAINA_HTTP_DRAIN_S=30 \
    --env TAINA_WEBRTC_ICE_ADDRESSES=127.0.0.1 \
    --env TAINA_LOG_LEVEL=info "$IMAGE" </dev/null >/dev/null 2>>"$podman_log" || fail "taina serve did not start"
ready=""
for _ in $(seq 1 240); do
    if ready=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/readyz', timeout=2).read().decode())" 2>/dev/null); then
        break
    fi
    [ "$(podman inspect --format '{{.State.Running}}' "$serve")" = true ] \
        || { podman logs "$serve" 2>&1 | tail -30 >&2; fail "taina serve exited"; }
    sleep 0.5
done
[ -n "$ready" ] || { podman logs "$serve" 2>&1 | tail -30 >&2; fail "/readyz never answered 200"; }
echo "container-smoke: /readyz $ready"
# The image's own HEALTHCHECK (GET /healthz from inside the container).
podman healthcheck run "$serve" </dev/null >>"$podman_log" 2>&1 || fail "the image's HEALTHCHECK failed"
[ "$(podman inspect --format '{{.State.Health.Status}}' "$serve")" = healthy ] || fail "the container is not healthy"
phase "taina serve: /readyz 200, HEALTHCHECK healthy"

# SIGTERM (the image's STOPSIGNAL, what the kubelet sends) with a call in progress: infra/smoke_call.py calls in
# over WebRTC from the host (the project's venv: make test installs it first), sends SIGTERM, sees new offers and
# /readyz refused while its call goes on, then hangs up; the server must then finish draining and exit 0 before
# the drain limit. Without that venv (CI's image job) SIGTERM comes with no call.
smoke_python=${TAINA_SMOKE_PYTHON:-.venv/bin/python}
if [ -x "$smoke_python" ] && "$smoke_python" -c 'import aiortc, httpx' 2>/dev/null; then
    drain=$("$smoke_python" infra/smoke_call.py "http://127.0.0.1:$PORT" "$serve" </dev/null 2>>"$podman_log") \
        || { podman logs "$serve" 2>&1 | tail -20 >&2; fail "draining with a call in progress failed"; }
    echo "container-smoke: drain with a call in progress: $drain"
    code=$(timeout 60 podman wait "$serve" 2>>"$podman_log") || fail "the server did not exit after the call ended"
else
    echo "container-smoke: no project venv with aiortc at $smoke_python: SIGTERM without a call"
    podman stop --time 30 "$serve" >/dev/null 2>>"$podman_log" || fail "podman stop failed"
    code=$(podman inspect --format '{{.State.ExitCode}}' "$serve")
fi
serve_log=$(podman logs "$serve" 2>&1)
[ "$code" = 0 ] || { echo "$serve_log" | tail -30 >&2; fail "taina serve exited $code on SIGTERM"; }
grep -q '"event": "server.draining"' <<<"$serve_log" || fail "no drain on SIGTERM"
grep -q '"event": "server.drained"' <<<"$serve_log" || fail "the drain did not finish"
if grep -q '"event": "server.drain_limit_reached"' <<<"$serve_log"; then fail "the drain waited for its limit"; fi
phase "taina serve: SIGTERM, drained, exit 0"

# The voice page's LiveKit mode needs LiveKit's browser SDK inside the image (the Containerfile's web stage).
"${run[@]}" --entrypoint sh "$IMAGE" -c 'test -s /opt/taina/venv/lib/python3*/site-packages/taina/web/vendor/livekit-client.umd.js' \
    </dev/null 2>>"$podman_log" || fail "the LiveKit browser SDK is missing from the image"
phase "the LiveKit browser SDK is in the image"
echo "container-smoke: passed in $(( $(date +%s) - started )) s"
