#!/usr/bin/env python3
"""Static checks of vigia's deployment files, run by ctest (deploy/CMakeLists.txt).

No container engine runs where the tests run, so the compose stack is never
started here. What can be checked without one is checked:

  compose   deploy/docker-compose.yml parses; the services are there (Kafka
            in KRaft mode, no ZooKeeper); vigia runs the documented command;
            every file or folder it mounts from the repository exists; the
            names Prometheus scrapes and alerts to are compose services
            exposing those ports; Grafana mounts the provisioning and the
            dashboards where the provisioning looks for them; its
            Alertmanager datasource is the alertmanager service, under the
            name the dashboards' links select.
  docker    deploy/Dockerfile builds on debian:12 with deploy/install-deps.sh
            and the `vigia` target, and has a separate runtime stage.
  systemd   deploy/vigia.service passes `systemd-analyze verify` (with the
            binary path pointed at /bin/true, since vigia is not installed in
            /usr/local/bin here) and keeps its stop and restart contract.
            Fails when systemd-analyze is not installed (deploy/install-deps.sh
            installs the systemd package for it).

Usage: check_deploy_files.py compose|docker|systemd REPO_ROOT
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml


def fail(problems):
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_compose(root):
    deploy = os.path.join(root, "deploy")
    compose = load_yaml(os.path.join(deploy, "docker-compose.yml"))
    services = compose.get("services", {})
    problems = []
    for name in ("kafka", "vigia", "prometheus", "alertmanager", "grafana"):
        if name not in services:
            problems.append(f"no service {name}")
    if problems:
        return fail(problems)
    if any("zookeeper" in n for n in services):
        problems.append("a ZooKeeper service: Kafka must run in KRaft mode")
    kenv = services["kafka"].get("environment", {})
    if "controller" not in str(kenv.get("KAFKA_PROCESS_ROLES", "")):
        problems.append("kafka: KAFKA_PROCESS_ROLES has no controller (KRaft)")
    if not re.fullmatch(r"[A-Za-z0-9_-]{22}", str(kenv.get("CLUSTER_ID", ""))):
        problems.append("kafka: CLUSTER_ID is not a 22-character base64 UUID")

    command = " ".join(services["vigia"].get("command", []))
    wanted = ("run --config /etc/vigia/vigia.yaml --brokers kafka:9092 "
              "--metrics-addr 0.0.0.0:9464")
    if not command.startswith(wanted):
        problems.append(f"vigia: command is '{command}', wanted '{wanted} ...'")
    if "http://alertmanager:9093" not in command:
        problems.append("vigia: does not post to http://alertmanager:9093")
    if services["vigia"].get("stop_signal", "SIGTERM") != "SIGTERM":
        problems.append("vigia: stop_signal must be SIGTERM")

    mounts = {}
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
            if source.startswith("."):
                path = os.path.normpath(os.path.join(deploy, source))
                mounts[(name, target)] = path
                # ./secrets is created by the operator (it holds secrets).
                if not os.path.exists(path) and not source.endswith("secrets"):
                    problems.append(f"{name}: mounts {source}, which does not "
                                    f"exist in the repository")
            elif source not in compose.get("volumes", {}):
                problems.append(f"{name}: undeclared volume {source}")

    prometheus = load_yaml(os.path.join(deploy, "prometheus", "prometheus.yml"))
    if mounts.get(("prometheus", "/etc/prometheus")) != os.path.join(
            deploy, "prometheus"):
        problems.append("prometheus: deploy/prometheus is not mounted at "
                        "/etc/prometheus")
    targets = [t for job in prometheus.get("scrape_configs", [])
               if job.get("job_name") == "vigia"
               for sc in job.get("static_configs", [])
               for t in sc.get("targets", [])]
    if "vigia:9464" not in targets:
        problems.append("prometheus.yml: job vigia does not scrape vigia:9464")
    am_targets = [t for am in prometheus.get("alerting", {}).get(
        "alertmanagers", []) for sc in am.get("static_configs", [])
        for t in sc.get("targets", [])]
    if am_targets != ["alertmanager:9093"]:
        problems.append(f"prometheus.yml: alerts go to {am_targets}, not to "
                        f"the alertmanager service")

    grafana = os.path.join(deploy, "grafana", "provisioning")
    if mounts.get(("grafana", "/etc/grafana/provisioning")) != grafana:
        problems.append("grafana: provisioning is not mounted at "
                        "/etc/grafana/provisioning")
    dash_mount = [t for (s, t), p in mounts.items()
                  if s == "grafana" and p == os.path.join(root, "dashboards")]
    providers = load_yaml(os.path.join(grafana, "dashboards", "vigia.yml"))
    paths = [p.get("options", {}).get("path") for p in providers["providers"]]
    if not dash_mount or dash_mount[0] not in paths:
        problems.append(f"grafana: dashboards mounted at {dash_mount}, "
                        f"provisioning reads {paths}")
    sources = load_yaml(os.path.join(grafana, "datasources",
                                     "vigia-prometheus.yml"))
    ds = sources["datasources"][0]
    if ds.get("type") != "prometheus" or ds.get("url") != "http://prometheus:9090":
        problems.append("grafana: the datasource is not the prometheus service")
    am_sources = load_yaml(os.path.join(grafana, "datasources",
                                        "vigia-alertmanager.yml"))
    am = am_sources["datasources"][0]
    if (am.get("type") != "alertmanager" or
            am.get("url") != "http://alertmanager:9093" or
            am.get("jsonData", {}).get("implementation") != "prometheus"):
        problems.append("grafana: the Alertmanager datasource is not the "
                        "alertmanager service (implementation prometheus)")
    # The dashboards' alert panels link to Grafana's alert groups view of
    # this datasource by its name.
    for dash in sorted(os.listdir(os.path.join(root, "dashboards"))):
        if not dash.endswith(".json"):
            continue
        with open(os.path.join(root, "dashboards", dash), encoding="utf-8") as f:
            for name in re.findall(r"/alerting/groups\?alertmanager=(\w+)",
                                   f.read()):
                if name != am.get("name"):
                    problems.append(f"{dash}: links to Alertmanager "
                                    f"datasource {name}, provisioned as "
                                    f"{am.get('name')}")
    interval = prometheus.get("global", {}).get("scrape_interval")
    if ds.get("jsonData", {}).get("timeInterval") != interval:
        problems.append(f"grafana: timeInterval differs from the scrape "
                        f"interval {interval}")
    if not problems:
        print(f"compose: {len(services)} services, {len(mounts)} repository "
              f"mounts, scrape and alerting targets resolve: OK")
    return fail(problems)


def check_docker(root):
    with open(os.path.join(root, "deploy", "Dockerfile"), encoding="utf-8") as f:
        text = f.read()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    problems = []
    if len(stages) < 2:
        problems.append("Dockerfile: needs a build and a runtime stage")
    elif stages[0][0] != "debian:12" or not stages[-1][0].startswith("debian:12"):
        problems.append(f"Dockerfile: stages {stages} are not Debian 12")
    for needed in ("deploy/install-deps.sh", "--preset release",
                   "--target vigia", "COPY --from=build"):
        if needed not in text:
            problems.append(f"Dockerfile: no '{needed}'")
    if re.search(r"^\s*(RUN|ADD).*https?://", text, re.M):
        problems.append("Dockerfile: downloads something outside apt")
    if not problems:
        print(f"Dockerfile: {len(stages)} stages: OK")
    return fail(problems)


def check_systemd(root):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        # deploy/install-deps.sh installs it (Debian package systemd): a
        # missing tool is a broken test machine, not a pass.
        print("systemd-analyze is not installed (apt-get install systemd, "
              "as deploy/install-deps.sh does)")
        return 1
    unit_path = os.path.join(root, "deploy", "vigia.service")
    with open(unit_path, encoding="utf-8") as f:
        unit = f.read()
    problems = []
    for needed in ("KillSignal=SIGTERM", "Restart=on-failure",
                   "TimeoutStopSec=", "NoNewPrivileges=yes"):
        if needed not in unit:
            problems.append(f"vigia.service: no {needed}")
    if "DynamicUser=yes" not in unit and not re.search(r"^User=vigia", unit, re.M):
        problems.append("vigia.service: neither DynamicUser nor User=vigia")
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "vigia.service")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(unit.replace("/usr/local/bin/vigia", "/bin/true"))
        proc = subprocess.run([analyze, "verify", "--man=no", copy],
                              capture_output=True, text=True, check=False)
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or output:
            problems.append(f"systemd-analyze verify: exit {proc.returncode}: "
                            f"{output}")
    if not problems:
        print("vigia.service: systemd-analyze verify clean: OK")
    return fail(problems)


def main(argv):
    checks = {"compose": check_compose, "docker": check_docker,
              "systemd": check_systemd}
    if len(argv) != 3 or argv[1] not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    return checks[argv[1]](os.path.abspath(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
