"""What the deployment files promise, read from the files (deploy/check.sh checks their schemas)."""

import pytest
import yaml

from shop_common.settings import DEVELOPMENT_ONLY, PROJECT_ROOT, SERVICES, WITH_DATABASE
from tools.container import migrated_by_default

KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"


def manifests(folder):
    for path in sorted((KUBERNETES / folder).glob("*.yaml")):
        if path.name not in ("kustomization.yaml", "deployment-defaults.yaml"):
            yield from (document for document in yaml.safe_load_all(path.read_text()) if document)


def deployments(folder="base"):
    return {
        document["metadata"]["name"]: document for document in manifests(folder) if document["kind"] == "Deployment"
    }


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_a_deployment_of_two_with_probes_on_the_health_endpoints(service):
    if service in DEVELOPMENT_ONLY:
        assert service not in deployments()
        deployment = deployments("dev")[service]
    else:
        deployment = deployments()[service]
        assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port = SERVICES[service][1]
    assert container["args"] == [service] and {"name": "PORT", "value": str(port)} in container["env"]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert set(container["resources"]) == {"requests", "limits"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }


def test_every_deployment_runs_non_root_read_only_with_a_grace_period_longer_than_the_drain():
    patch = {
        operation["path"]: operation["value"]
        for operation in yaml.safe_load((KUBERNETES / "base" / "deployment-defaults.yaml").read_text())
    }
    settings = next(document for document in manifests("base") if document["kind"] == "ConfigMap")["data"]
    assert patch["/spec/template/spec/securityContext"]["runAsNonRoot"] is True
    assert patch["/spec/template/spec/containers/0/securityContext"]["readOnlyRootFilesystem"] is True
    drain_and_requests = int(settings["SHUTDOWN_DRAIN_SECONDS"]) + 3
    assert patch["/spec/template/spec/terminationGracePeriodSeconds"] > drain_and_requests
    kustomization = yaml.safe_load((KUBERNETES / "base" / "kustomization.yaml").read_text())
    assert {"path": "deployment-defaults.yaml", "target": {"kind": "Deployment"}} in kustomization["patches"]


def test_compose_publishes_the_gateway_alone_and_keeps_secrets_out_of_the_file():
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"gateway"}
    assert {"mariadb", "redis", "migrate", *SERVICES} <= set(compose["services"])
    text = (PROJECT_ROOT / "compose.yaml").read_text()
    assert "JWT_SECRET_KEY" not in text and "PASSWORD" not in text
    example = (PROJECT_ROOT / "deploy" / "compose.env.example").read_text()
    secrets = [line for line in example.splitlines() if "PASSWORD=" in line or "SECRET_KEY=" in line]
    assert secrets and all(line.endswith("=change-me") for line in secrets)
    assert "deploy/compose.env" in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_the_image_runs_as_a_non_root_user_with_gunicorn_in_exec_form():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001\n" in dockerfile
    assert 'ENTRYPOINT ["python", "-m", "tools.container"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile
    ignored = (PROJECT_ROOT / ".dockerignore").read_text()
    assert ignored.startswith("#") and "\n*\n" in ignored and "**/.env" in ignored


def test_migrate_leaves_the_sandbox_out_but_where_it_runs():
    """The image's ``migrate`` alone migrates the shop's databases; compose and the dev overlay, which
    run the sandbox, name it too."""
    assert migrated_by_default() == [service for service in WITH_DATABASE if service not in DEVELOPMENT_ONLY]
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    assert compose["services"]["migrate"]["command"] == ["migrate", *WITH_DATABASE]
    dev_patch = yaml.safe_load((KUBERNETES / "dev" / "kustomization.yaml").read_text())["patches"]
    job_patch = next(patch for patch in dev_patch if patch["target"] == {"kind": "Job", "name": "migrate"})
    assert yaml.safe_load(job_patch["patch"])[0]["value"] == ["migrate", *WITH_DATABASE]
