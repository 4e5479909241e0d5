// What the chart's two renders must contain (beyond schemas and policy):
//   node render_facts.mjs DEFAULT.yaml EVERYTHING.yaml OBSERVABILITY_DIR OUT_DIR
// Writes OUT_DIR/prometheusrule.yml, OUT_DIR/topics.chart and OUT_DIR/tls/* for the
// checks that follow (promtool, the topic list, openssl).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { parseAllDocuments, stringify } from "yaml";

const [defaultFile, everythingFile, observability, out] = process.argv.slice(2);
const problems = [];
const expect = (ok, what) => { if (!ok) problems.push(what); };
const load = (f) => parseAllDocuments(readFileSync(f, "utf8")).map((d) => d.toJS()).filter(Boolean);
const find = (objs, kind, suffix) => objs.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
const env = (container, name) => (container.env ?? []).find((e) => e.name === name);
const containers = (o) => o.spec.template.spec.containers;

// ---- default values: everything inside the chart ----
const base = load(defaultFile);
const kafka = find(base, "StatefulSet", "-broker");
const postgres = find(base, "StatefulSet", "-postgresql");
expect(kafka && postgres, "default render: Postgres and Kafka StatefulSets");
if (kafka) {
  const c = containers(kafka)[0];
  expect(kafka.spec.template.spec.enableServiceLinks === false, "kafka: enableServiceLinks must be false");
  for (const name of ["CLUSTER_ID", "KAFKA_PROCESS_ROLES", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                      "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) {
    expect(env(c, name), `kafka: ${name} must be set`);
  }
  expect(env(c, "KAFKA_PROCESS_ROLES")?.value === "broker,controller", "kafka: KRaft combined mode");
  expect(c.image.startsWith("apache/kafka:"), "kafka: the official apache/kafka image");
}
expect(!base.some((o) => o.kind === "Service" && o.metadata.name === "kafka"), "no Service may be named kafka");
if (postgres) {
  const c = containers(postgres)[0];
  const mount = c.volumeMounts.find((m) => m.name === "data").mountPath;
  const pgdata = env(c, "PGDATA")?.value ?? "";
  expect(pgdata.startsWith(mount + "/") && pgdata.length > mount.length + 1, "postgres: PGDATA must be a subdirectory of the volume");
  expect(c.image.startsWith("postgres:17"), "postgres: the official postgres:17 image");
}
const migrate = find(base, "Job", "-migrate");
expect(migrate?.metadata.annotations?.["helm.sh/hook"]?.includes("pre-upgrade"), "migration Job must be a Helm hook (pre-upgrade)");
expect(containers(migrate ?? { spec: { template: { spec: { containers: [{}] } } } })[0].image?.includes("evc-migrate"), "migration Job runs evc-migrate");
const topicsJob = base.find((o) => o.kind === "Job" && o.metadata.name.includes("-kafka-topics"));
expect(topicsJob, "a topic-creation Job");
if (topicsJob) {
  const specs = env(containers(topicsJob)[0], "TOPICS").value.split(" ");
  writeFileSync(`${out}/topics.chart`, specs.map((s) => s.replace(":", " ")).join("\n") + "\n");
}
expect(!base.some((o) => o.apiVersion?.startsWith("monitoring.coreos.com")), "no Prometheus Operator objects without its API");
const dashboards = readdirSync(`${observability}/grafana`).filter((f) => f.endsWith(".json"));
for (const file of dashboards) {
  const cm = base.find((o) => o.kind === "ConfigMap" && o.data?.[file] !== undefined);
  expect(cm, `dashboard ${file} as a ConfigMap`);
  if (!cm) continue;
  expect(cm.metadata.labels?.grafana_dashboard === "1", `dashboard ${file}: label grafana_dashboard: "1"`);
  expect(cm.data[file].trim() === readFileSync(`${observability}/grafana/${file}`, "utf8").trim(), `dashboard ${file}: same as observability/grafana`);
  try { JSON.parse(cm.data[file]); } catch { problems.push(`dashboard ${file}: not JSON`); }
}
for (const name of ["registry", "auth", "central", "weather"]) {
  const svc = find(base, "Service", `-${name}`);
  expect(svc?.spec.ports.some((p) => p.name === "grpc"), `${name}: Service port named grpc`);
  expect(svc?.spec.ports.some((p) => p.name === "metrics"), `${name}: Service port named metrics`);
}
// ---- central: replicas with one leader, never zero serving for longer than a take-over ----
{
  const central = find(base, "Deployment", "-central");
  expect(central?.spec.replicas >= 2, "central: 2 replicas by default (one leader, one standby)");
  const update = central?.spec.strategy;
  expect(update?.type === "RollingUpdate" && update.rollingUpdate?.maxUnavailable === 0 && update.rollingUpdate?.maxSurge === 1,
         "central: rolling update that starts the new replica before stopping an old one");
  const pdb = find(base, "PodDisruptionBudget", "-central");
  expect(pdb?.spec.minAvailable === 1, "central: PodDisruptionBudget keeps one replica through drains");
  expect(JSON.stringify(pdb?.spec.selector.matchLabels) === JSON.stringify(central?.spec.selector.matchLabels),
         "central: the PodDisruptionBudget selects central's pods");
  expect(find(base, "Service", "-central")?.spec.clusterIP === "None",
         "central: headless Service, so clients see every replica and follow the leader");
  const c = containers(central)[0];
  expect(env(c, "EVC_LEADER_LEASE")?.value === "3s" && env(c, "EVC_LEADER_RENEW")?.value === "1s",
         "central: election settings from values");
  expect(env(c, "EVC_ADVERTISE_ADDRESS")?.value === "$(POD_IP):50053" &&
         env(c, "POD_IP")?.valueFrom?.fieldRef?.fieldPath === "status.podIP",
         "central: each replica advertises its pod address (followers name the leader)");
}

// ---- mTLS: on by default ----
{
  const config = find(base, "ConfigMap", "-config");
  expect(config?.data.EVC_TLS_CA, "mTLS (default): EVC_TLS_* in the config");
  for (const name of ["registry", "auth", "central", "weather"]) {
    const c = containers(find(base, "Deployment", `-${name}`))[0];
    const health = c.ports.find((p) => p.name === "health")?.containerPort;
    expect(health && c.readinessProbe.grpc.port === health && c.livenessProbe.grpc.port === health,
           `${name}: with mTLS, probes on the plaintext health port`);
    expect(env(c, "EVC_HEALTH_LISTEN")?.value.endsWith(`:${health}`), `${name}: EVC_HEALTH_LISTEN`);
    expect(c.volumeMounts.some((m) => m.mountPath === "/etc/evc/tls"), `${name}: its certificate mounted`);
  }
  const tls = find(base, "Secret", "-tls");
  expect(tls && Object.keys(tls.data).length === 13, "mTLS: a generated Secret with ca.crt and 6 certificate/key pairs");
  if (tls) {
    mkdirSync(`${out}/tls`, { recursive: true });
    for (const [k, v] of Object.entries(tls.data)) writeFileSync(`${out}/tls/${k}`, Buffer.from(v, "base64"));
  }
}

// ---- service credentials (who a service is when mTLS is off), in both renders ----
const SERVICES = ["registry", "auth", "central", "weather", "edge"];
function checkServiceCredentials(objs, what) {
  const secret = find(objs, "Secret", "-service-credentials");
  expect(secret, `${what}: a service-credentials Secret`);
  const files = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
  for (const name of SERVICES) {
    const file = files[name] ?? "";
    expect(file.startsWith(`service ${name} `), `${what}: ${name}'s credential names it`);
    for (const other of SERVICES.filter((o) => o !== name)) {
      const key = files[`${other}.key`];
      const want = key && createHash("sha256").update(`evc-service-key|${key}|${name}`).digest("hex");
      expect(file.includes(`peer ${other} ${want}\n`), `${what}: ${name}'s credential verifies ${other}`);
    }
    const d = find(objs, "Deployment", `-${name}`);
    const c = d && containers(d)[0];
    expect(env(c ?? {}, "EVC_SERVICE_CREDENTIAL_FILE")?.value === "/etc/evc/service/credential", `${what}: ${name} gets EVC_SERVICE_CREDENTIAL_FILE`);
    const volume = d?.spec.template.spec.volumes.find((v) => v.name === "service-credential");
    expect(volume?.secret.items.length === 1 && volume.secret.items[0].key === name, `${what}: ${name} mounts its own credential only`);
  }
  for (const o of objs.filter((o) => o.spec?.template?.spec?.containers)) {
    const component = o.metadata.labels?.["app.kubernetes.io/component"];
    if (SERVICES.includes(component)) continue;
    const c = containers(o)[0];
    expect(!env(c, "EVC_SERVICE_CREDENTIAL_FILE"), `${what}: ${o.kind} ${o.metadata.name} (not a service) gets no service credential`);
  }
}
checkServiceCredentials(base, "default render");

// ---- NetworkPolicies: one per workload; each port admits exactly its callers ----
function checkNetworkPolicies(objs, what) {
  const policies = objs.filter((o) => o.kind === "NetworkPolicy");
  const workloads = objs.filter((o) => ["Deployment", "StatefulSet"].includes(o.kind));
  const componentOf = (labels) => labels?.["app.kubernetes.io/component"];
  const components = new Set(objs.filter((o) => o.spec?.template).map((o) => componentOf(o.spec.template.metadata?.labels)));
  const policyOf = (component) => policies.find((p) => componentOf(p.spec.podSelector.matchLabels) === component);
  for (const w of workloads) {
    const component = componentOf(w.spec.template.metadata.labels);
    const policy = policyOf(component);
    expect(policy, `${what}: ${w.kind} ${w.metadata.name} has a NetworkPolicy`);
    if (!policy) continue;
    expect(policy.spec.policyTypes.includes("Ingress"), `${what}: ${policy.metadata.name} restricts ingress`);
    // Every port the pod listens on is in a rule (else it is closed, probes included).
    for (const p of containers(w).flatMap((c) => c.ports ?? [])) {
      expect(policy.spec.ingress.some((r) => r.ports.some((rp) => rp.port === p.containerPort)),
             `${what}: ${policy.metadata.name} has a rule for port ${p.name} (${p.containerPort})`);
    }
    for (const rule of policy.spec.ingress) {
      for (const from of rule.from ?? []) {
        const caller = componentOf(from.podSelector?.matchLabels);
        if (caller) expect(components.has(caller), `${what}: ${policy.metadata.name} admits "${caller}", which this render does not run`);
      }
    }
  }
  // Who may reach each gRPC port (the call sites in each service's main.cc).
  const callers = (component, port) => {
    const rule = policyOf(component)?.spec.ingress.find((r) => r.ports.some((p) => p.port === port));
    if (!rule) return null;
    if (!rule.from) return "anyone";
    return rule.from.map((f) => componentOf(f.podSelector?.matchLabels) ?? "namespace").sort().join(",");
  };
  const grpcPort = (name) => containers(find(objs, "Deployment", `-${name}`)).flatMap((c) => c.ports).find((p) => p.name === "grpc").containerPort;
  const fleet = objs.some((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-cp-fleet"));
  const withFleet = (list) => (fleet ? [...list, "cp-fleet"] : list).sort().join(",");
  // The OCPP gateway calls auth and central (not the registry) for its chargers.
  const ocpp = objs.some((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-ocpp"));
  const withOcpp = (list) => (ocpp ? [...list, "ocpp"] : list);
  const want = {
    registry: withFleet(["auth", "central", "edge", "weather"]),
    auth: withFleet(withOcpp(["central", "edge", "registry", "weather"])),
    central: withFleet(withOcpp(["edge", "weather"])),
    weather: "edge",
  };
  for (const [name, expected] of Object.entries(want)) {
    const got = callers(name, grpcPort(name));
    // The fleet runs or not; its absence in the render does not narrow the policy.
    expect(got === expected || got === withFleet(expected.split(",")), `${what}: ${name}'s gRPC port admits ${expected}, not ${got}`);
  }
  const edgeHttp = containers(find(objs, "Deployment", "-edge"))[0].ports.find((p) => p.name === "http").containerPort;
  expect(callers("edge", edgeHttp) === "anyone", `${what}: the edge's HTTP port is public`);
  if (ocpp) {
    const ocppPort = containers(find(objs, "Deployment", "-ocpp"))[0].ports.find((p) => p.name === "ocpp").containerPort;
    expect(callers("ocpp", ocppPort) === "anyone", `${what}: chargers reach the OCPP gateway's port`);
  }
  for (const w of workloads) {
    for (const p of containers(w).flatMap((c) => c.ports ?? []).filter((p) => p.name === "metrics")) {
      const rule = policyOf(componentOf(w.spec.template.metadata.labels))?.spec.ingress.find((r) => r.ports.some((rp) => rp.port === p.containerPort));
      expect(rule?.from?.some((f) => f.namespaceSelector) && rule.from.some((f) => f.podSelector && !Object.keys(f.podSelector).length),
             `${what}: ${w.metadata.name}'s metrics port admits the namespace and the monitoring namespaces only`);
    }
  }
  const pg = policyOf("postgresql");
  if (pg) expect(callers("postgresql", 5432) === "auth,central,migrate,registry,weather", `${what}: Postgres admits the services that use it`);
}
checkNetworkPolicies(base, "default render");

// ---- everything on: mTLS, ingress, external Postgres/Kafka, monitoring ----
const all = load(everythingFile);
expect(!all.some((o) => o.kind === "StatefulSet"), "external Postgres/Kafka: no StatefulSets");
expect(find(all, "Ingress", "-edge"), "ingress on: an Ingress");
const config = find(all, "ConfigMap", "-config");
expect(config?.data.EVC_KAFKA === "kafka-0.example.com:9092,kafka-1.example.com:9092", "external Kafka: EVC_KAFKA from external.kafka");
expect(!config?.data.EVC_TLS_CA, "mTLS off: no EVC_TLS_* in the config");
const url = find(all, "Secret", "-postgres-url");
expect(url && Buffer.from(url.data.url, "base64").toString().includes("db.example.com"), "external Postgres: the URL Secret");
for (const name of ["registry", "auth", "central", "weather"]) {
  const c = containers(find(all, "Deployment", `-${name}`))[0];
  const grpcPort = c.ports.find((p) => p.name === "grpc")?.containerPort;
  expect(c.readinessProbe?.grpc?.port === grpcPort, `${name}: without mTLS, probes on the gRPC port`);
}
expect(!find(all, "Secret", "-tls"), "mTLS off: no certificates");
checkServiceCredentials(all, "mTLS off");
checkNetworkPolicies(all, "everything render");
const monitor = find(all, "ServiceMonitor", "");
expect(monitor?.spec.jobLabel === "evc.io/job", "ServiceMonitor: job label from evc.io/job (the rules' job names)");
const rule = find(all, "PrometheusRule", "");
expect(rule, "monitoring API present: a PrometheusRule");
if (rule) writeFileSync(`${out}/prometheusrule.yml`, stringify(rule.spec));

for (const p of problems) console.log(`FAIL ${p}`);
console.log(`render facts: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
