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
            and the `vigia` target, and has a separate runtime stage; its
            default command runs the demo, serving /metrics on the EXPOSEd
            port; it runs as a numeric non-root user (for Kubernetes'
            runAsNonRoot).
  kubernetes deploy/kubernetes/vigia.yaml: a ConfigMap, a Secret, a
            Deployment, a Service and a ServiceMonitor whose names,
            labels, ports and paths agree: probes on /-/healthy and /-/ready
            of the metrics port, VIGIA_METRICS_ADDR on that port, the
            Service and ServiceMonitor on it, pod annotations too; every
            *_FILE variable inside the Secret's mount and naming a key of
            it; the user the image's. With the vigia binary (third
            argument), the ConfigMap's file, the Deployment's VIGIA_
            variables and the Secret's files (written to a scratch
            directory) must load in `vigia config`, and the secrets must not
            appear in its output.
  systemd   deploy/vigia.service passes `systemd-analyze verify` (with the
            binary path pointed at /bin/true, since vigia is not installed in
            /usr/local/bin here) and keeps its stop and restart contract.
            Fails when systemd-analyze is not installed (deploy/install-deps.sh
            installs the systemd package for it).

Usage: check_deploy_files.py compose|docker|systemd|kubernetes REPO_ROOT [VIGIA]
"""

import json
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
    cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.M)
    expose = re.findall(r"^EXPOSE\s+(\d+)", text, re.M)
    if len(cmd) != 1:
        problems.append("Dockerfile: no single exec-form CMD")
    else:
        args = json.loads(cmd[-1])
        if not args or args[0] != "demo":
            problems.append(f"Dockerfile: default command {args} does not "
                            f"run the demo")
        addr = args[args.index("--metrics-addr") + 1] \
            if "--metrics-addr" in args else ""
        if not addr.startswith("0.0.0.0:") or [addr.split(":")[1]] != expose:
            problems.append(f"Dockerfile: the demo serves metrics on "
                            f"'{addr}', EXPOSE is {expose}")
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    uid = re.findall(r"useradd[^\n]*?--uid (\d+)", text.replace("\\\n", " "))
    if not user or not re.fullmatch(r"\d+(:\d+)?", user[-1]) or \
            user[-1].split(":")[0] == "0" or uid[:1] != [user[-1].split(":")[0]]:
        problems.append(f"Dockerfile: USER {user} is not the numeric uid "
                        f"{uid} of the vigia user")
    if not problems:
        print(f"Dockerfile: {len(stages)} stages: OK")
    return fail(problems)


def dockerfile_uid(root):
    with open(os.path.join(root, "deploy", "Dockerfile"), encoding="utf-8") as f:
        user = re.findall(r"^USER\s+(\d+)", f.read(), re.M)
    return int(user[-1]) if user else None


def check_kubernetes(root, vigia=None):
    path = os.path.join(root, "deploy", "kubernetes", "vigia.yaml")
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    problems = []
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("ConfigMap", "Secret", "Deployment", "Service",
                 "ServiceMonitor"):
        if len(by_kind.get(kind, [])) != 1:
            problems.append(f"{path}: wants exactly one {kind}")
    if problems:
        return fail(problems)
    cm, secret = by_kind["ConfigMap"][0], by_kind["Secret"][0]
    dep, svc = by_kind["Deployment"][0], by_kind["Service"][0]
    mon = by_kind["ServiceMonitor"][0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"].get("labels", {})
    if dep["spec"]["selector"].get("matchLabels") != labels:
        problems.append("Deployment: selector does not match the pod labels")
    if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
        problems.append("Service: selector does not match the pod labels")
    svc_labels = svc["metadata"].get("labels", {})
    if any(svc_labels.get(k) != v for k, v in
           mon["spec"]["selector"].get("matchLabels", {}).items()):
        problems.append("ServiceMonitor: selector does not match the Service")
    spec = pod["spec"]
    containers = spec.get("containers", [])
    if len(containers) != 1:
        return fail(problems + ["Deployment: wants one container"])
    c = containers[0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    metrics_port = ports.get("metrics")
    addr = env.get("VIGIA_METRICS_ADDR", "")
    if not metrics_port or addr != f"0.0.0.0:{metrics_port}":
        problems.append(f"Deployment: VIGIA_METRICS_ADDR '{addr}' is not "
                        f"0.0.0.0 on the metrics port {metrics_port}")
    for probe, wanted in (("livenessProbe", "/-/healthy"),
                          ("readinessProbe", "/-/ready")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != wanted or get.get("port") not in (
                "metrics", metrics_port):
            problems.append(f"Deployment: {probe} is {get}, wanted "
                            f"{wanted} on the metrics port")
    svc_ports = svc["spec"].get("ports", [])
    if not any(p.get("name") == "metrics" and
               p.get("targetPort") in ("metrics", metrics_port)
               for p in svc_ports):
        problems.append("Service: no port named metrics to the metrics port")
    endpoints = mon["spec"].get("endpoints", [])
    if not any(e.get("port") == "metrics" and e.get("path") == "/metrics"
               for e in endpoints):
        problems.append("ServiceMonitor: does not scrape metrics /metrics")
    annotations = pod["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/port") != str(metrics_port) or \
            annotations.get("prometheus.io/path") != "/metrics":
        problems.append("Deployment: prometheus.io annotations do not name "
                        "the metrics port and /metrics")
    if spec.get("terminationGracePeriodSeconds", 30) < 15:
        problems.append("Deployment: terminationGracePeriodSeconds below "
                        "vigia's 10 s flush and a margin")
    security = spec.get("securityContext", {})
    if security.get("runAsNonRoot") and \
            security.get("runAsUser") != dockerfile_uid(root):
        problems.append(f"Deployment: runAsUser {security.get('runAsUser')} "
                        f"is not the image's user {dockerfile_uid(root)}")

    # Mounts: the config file and the secret files.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: volumes.get(m["name"], {})
              for m in c.get("volumeMounts", [])}
    args = c.get("args", [])
    if args[:1] != ["run"] or "--config" not in args:
        return fail(problems + [f"Deployment: args {args} do not run the "
                                f"daemon with --config"])
    config_path = args[args.index("--config") + 1]
    config_dir, config_key = os.path.split(config_path)
    cm_volume = mounts.get(config_dir, {}).get("configMap", {})
    if cm_volume.get("name") != cm["metadata"]["name"] or \
            config_key not in cm.get("data", {}):
        problems.append(f"Deployment: --config {config_path} is not a key of "
                        f"the ConfigMap mounted at {config_dir}")
    secret_files = {}
    for name, value in env.items():
        if not name.endswith("_FILE") and "_SECRET_FILES_" not in name:
            continue
        directory, key = os.path.split(value or "")
        sec_volume = mounts.get(directory, {}).get("secret", {})
        if sec_volume.get("secretName") != secret["metadata"]["name"] or \
                key not in secret.get("stringData", {}):
            problems.append(f"Deployment: {name}={value} is not a key of the "
                            f"Secret mounted at {directory}")
        else:
            secret_files[name] = (key, secret["stringData"][key])
    if not secret_files:
        problems.append("Deployment: no secret read from a file")
    for name, value in env.items():
        if not name.startswith("VIGIA_"):
            problems.append(f"Deployment: variable {name} is not vigia's")
    if problems or not vigia:
        if not problems:
            print(f"kubernetes: {len(docs)} objects agree (not loaded: no "
                  f"vigia binary given)")
        return fail(problems)

    # Load it as the pod would: the ConfigMap's file, the variables, the
    # Secret's files at their names in a scratch directory.
    with tempfile.TemporaryDirectory() as tmp:
        config_file = os.path.join(tmp, config_key)
        with open(config_file, "w", encoding="utf-8") as f:
            f.write(cm["data"][config_key])
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin")}
        for name, value in env.items():
            if name in secret_files:
                key, text = secret_files[name]
                value = os.path.join(tmp, key)
                with open(value, "w", encoding="utf-8") as f:
                    f.write(text + "\n")
            run_env[name] = value
        proc = subprocess.run([vigia, "config", "--config", config_file],
                              capture_output=True, text=True, env=run_env,
                              check=False)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            problems.append(f"vigia config of the ConfigMap and variables: "
                            f"exit {proc.returncode}: {output.strip()}")
        for _, text in secret_files.values():
            if text in output:
                problems.append("vigia config printed a secret")
        for needle in ("kafka.secret_files.sasl.password = ",
                       "alertmanager.basic_auth.password_file = ",
                       f"metrics.addr = {addr}"):
            if needle not in output:
                problems.append(f"vigia config does not show '{needle}'")
    if not problems:
        print(f"kubernetes: {len(docs)} objects agree; ConfigMap, "
              f"{len(env)} variables and {len(secret_files)} secret files "
              f"load in vigia config: OK")
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
              "systemd": check_systemd, "kubernetes": check_kubernetes}
    if len(argv) not in (3, 4) or argv[1] not in checks or \
            (len(argv) == 4 and argv[1] != "kubernetes"):
        print(__doc__, file=sys.stderr)
        return 2
    return checks[argv[1]](os.path.abspath(argv[2]), *argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
