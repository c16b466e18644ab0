"""Helpers for `make infra-check` over the manifests `helm template` renders (run with a checker venv's Python,
which has PyYAML).

    python infra/rendered_manifests.py split RENDERED       writes RENDERED.core.yaml: the kinds Kubernetes'
                                                            bundled schemas know, and each custom resource
                                                            to RENDERED.custom/N-KIND.json (for
                                                            infra/schemas/custom-resources.schema.json)
    python infra/rendered_manifests.py livekit RENDERED OUT writes the LiveKit configuration the chart renders
                                                            (LIVEKIT_CONFIG) to OUT; exit 3 when LiveKit is off
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

CUSTOM_GROUPS = ("external-secrets.io", "argoproj.io", "monitoring.coreos.com")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def split(path: Path) -> None:
    docs = documents(path)
    core = [d for d in docs if d["apiVersion"].split("/")[0] not in CUSTOM_GROUPS]
    custom = [d for d in docs if d["apiVersion"].split("/")[0] in CUSTOM_GROUPS]
    Path(f"{path}.core.yaml").write_text(yaml.safe_dump_all(core), encoding="utf-8")
    folder = Path(f"{path}.custom")
    folder.mkdir(exist_ok=True)
    for n, doc in enumerate(custom):
        (folder / f"{n}-{doc['kind']}.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    print(f"{len(core)} core resources, {len(custom)} custom resources")


def livekit(path: Path, out: Path) -> int:
    for doc in documents(path):
        labels = doc.get("metadata", {}).get("labels", {})
        if doc["kind"] != "Deployment" or labels.get("app.kubernetes.io/name") != "livekit":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if not env.get("LIVEKIT_CONFIG"):
                sys.exit(f"{path}: the LiveKit container has no LIVEKIT_CONFIG")
            config = yaml.safe_load(env["LIVEKIT_CONFIG"])
            out.write_text(yaml.safe_dump(config), encoding="utf-8")
            return 0
    return 3


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "split":
        split(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "livekit":
        return livekit(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
