#!/usr/bin/env bash
# Static checks of the deployment files, no container engine or cluster needed (make deploy-check):
# compose.yaml against the compose-spec schema, the Kubernetes manifests as kustomize renders them
# (base and dev) strictly against Kubernetes' schemas. (hadolint checks the Dockerfile in make lint.)
# Tools: requirements-dev.txt, in $BIN (default .venv/bin); kustomize from kubectl when present.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.venv/bin}
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT

"$bin/check-jsonschema" --builtin-schema vendor.compose-spec compose.yaml

if command -v kubectl >/dev/null; then
  for overlay in base dev; do
    kubectl kustomize "deploy/kubernetes/$overlay" > "$rendered/$overlay.yaml"
  done
else
  # No kustomize: each manifest as written (the shared Deployment patch is not applied).
  echo "kubectl not found: validating each manifest file without kustomize"
  for file in deploy/kubernetes/*/*.yaml; do
    case $(basename "$file") in kustomization.yaml|deployment-defaults.yaml) continue ;; esac
    cp "$file" "$rendered/$(basename "$(dirname "$file")")-$(basename "$file")"
  done
fi
"$bin/kubernetes-validate" --strict --quiet "$rendered"/*.yaml
echo "kubernetes manifests: valid ($(cat "$rendered"/*.yaml | grep -c '^kind:') resources)"

