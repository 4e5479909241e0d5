// Offline checks of rendered Kubernetes manifests.
//
//   node validate.mjs schema CHART_DIR VALUES_FILE...      values files against values.schema.json
//   node validate.mjs manifests RENDERED.yaml [options]    every object against the Kubernetes
//       schemas (kubernetes-models; Prometheus Operator kinds too) and against our policy
//     --values CHART_DIR[:VALUES_FILE]   images must be exactly those the values name
//     --existing-secrets a,b             Secrets the render may reference without defining
//
// Exit status 1 with one line per problem.
import { readFileSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";
import Ajv from "ajv";

const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);

// ---- Kubernetes schemas ----
const GROUP_MODULES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = GROUP_MODULES[group] ?? "kubernetes-models";
  const path = group === "" ? `${pkg}/${version}/${kind}` : `${pkg}/${group}/${version}/${kind}`;
  try {
    const module = await import(path);
    return module[kind];
  } catch {
    return null;
  }
}

async function validateSchema(obj, where) {
  if (!obj.apiVersion || !obj.kind) return fail(where, "no apiVersion/kind");
  if (obj.kind === "Secret" && obj.data) {
    // kustomize folds base64 over lines; the API server's decoder skips the newlines.
    obj = { ...obj, data: Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, String(v).replace(/\s/g, "")])) };
  }
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) return fail(where, `unknown kind ${obj.apiVersion}/${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(where, `schema: ${e.message.split("\n")[0]}`);
  }
  if (!obj.metadata?.name) fail(where, "no metadata.name");
}

// ---- policy ----
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

function podSpec(obj) {
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template?.spec;
  return obj.spec?.template?.spec;
}

function checkContainer(c, pod, obj, where) {
  const at = `${where} container ${c.name}`;
  const sc = c.securityContext ?? {};
  const podSc = pod.securityContext ?? {};
  const r = c.resources ?? {};
  if (!r.requests?.cpu || !r.requests?.memory) fail(at, "resources.requests needs cpu and memory");
  if (!r.limits?.memory) fail(at, "resources.limits needs memory");
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) fail(at, "runAsNonRoot is not true");
  if ((sc.runAsUser ?? podSc.runAsUser) === 0) fail(at, "runs as uid 0");
  if (sc.allowPrivilegeEscalation !== false) fail(at, "allowPrivilegeEscalation is not false");
  if (sc.readOnlyRootFilesystem !== true) fail(at, "readOnlyRootFilesystem is not true");
  if (sc.privileged) fail(at, "privileged");
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(at, "capabilities.drop lacks ALL");
  for (const p of c.ports ?? []) if (!p.name) fail(at, `container port ${p.containerPort} has no name`);
  const image = c.image ?? "";
  const tag = image.includes("@") ? "digest" : image.slice(image.lastIndexOf("/") + 1).split(":")[1];
  if (!tag) fail(at, `image ${image} has no tag`);
  if (tag === "latest") fail(at, `image ${image} uses the latest tag`);
  if (LONG_RUNNING.has(obj.kind)) {
    for (const probe of ["readinessProbe", "livenessProbe"]) if (!c[probe]) fail(at, `no ${probe}`);
    // Our gRPC services are probed natively on the health service.
    if ((c.ports ?? []).some((p) => p.name === "grpc")) {
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        if (c[probe] && !c[probe].grpc) fail(at, `${probe} is not a native gRPC probe`);
      }
    }
  }
}

function checkPolicy(obj, where, context) {
  if (obj.kind === "Service") {
    for (const p of obj.spec?.ports ?? []) if (!p.name) fail(where, `service port ${p.port} has no name`);
    context.services.push(obj);
  }
  if (obj.kind === "Secret") context.secrets.add(obj.metadata.name);
  if (obj.kind === "ConfigMap") context.configMaps.add(obj.metadata.name);
  if (!WORKLOADS.has(obj.kind)) return;
  const pod = podSpec(obj);
  if (!pod) return fail(where, "no pod template");
  if (obj.kind !== "Job" && obj.kind !== "CronJob") context.podLabels.push(obj.spec.template.metadata?.labels ?? {});
  if (pod.automountServiceAccountToken !== false) fail(where, "automountServiceAccountToken is not false");
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) fail(where, "uses host namespaces");
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    checkContainer(c, pod, obj, where);
    context.images.push([where, c.image]);
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) context.secretRefs.push([where, e.valueFrom.secretKeyRef.name]);
      if (e.valueFrom?.configMapKeyRef) context.configMapRefs.push([where, e.valueFrom.configMapKeyRef.name]);
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef) context.secretRefs.push([where, e.secretRef.name]);
      if (e.configMapRef) context.configMapRefs.push([where, e.configMapRef.name]);
    }
  }
  for (const v of pod.volumes ?? []) {
    if (v.secret) context.secretRefs.push([where, v.secret.secretName]);
    if (v.configMap) context.configMapRefs.push([where, v.configMap.name]);
  }
}

function checkReferences(context, existingSecrets) {
  for (const [where, name] of context.secretRefs) {
    if (!context.secrets.has(name) && !existingSecrets.has(name)) fail(where, `references Secret ${name}, which nothing defines`);
  }
  for (const [where, name] of context.configMapRefs) {
    if (!context.configMaps.has(name)) fail(where, `references ConfigMap ${name}, which nothing defines`);
  }
  for (const s of context.services) {
    const selector = s.spec?.selector;
    if (!selector) continue;
    const matches = context.podLabels.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    if (!matches) fail(`Service ${s.metadata.name}`, "its selector matches no pod template");
  }
}

// ---- images named by the values ----
function deepMerge(base, over) {
  if (over === null || typeof over !== "object" || Array.isArray(over)) return over;
  const out = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : deepMerge(out[k], v);
  return out;
}
const OUR_BINARIES = { registry: "registry", auth: "auth", central: "central", weather: "weather",
                       edge: "edge", ocpp: "ocpp", fleet: "cp-fleet", migrations: "migrate" };
function imagesFromValues(spec) {
  const [chartDir, valuesFile] = spec.split(":");
  let values = parse(readFileSync(`${chartDir}/values.yaml`, "utf8"));
  if (valuesFile) values = deepMerge(values, parse(readFileSync(valuesFile, "utf8")));
  const chart = parse(readFileSync(`${chartDir}/Chart.yaml`, "utf8"));
  const g = values.global.image;
  const allowed = new Set();
  for (const [block, binary] of Object.entries(OUR_BINARIES)) {
    const own = values[block]?.image ?? {};
    let repository = own.repository || `${g.repositoryPrefix}${binary}`;
    if (g.registry) repository = `${g.registry}/${repository}`;
    allowed.add(`${repository}:${own.tag || g.tag || chart.appVersion}`);
  }
  for (const block of ["postgresql", "kafka"]) allowed.add(`${values[block].image.repository}:${values[block].image.tag}`);
  return allowed;
}

// ---- main ----
async function checkManifests(file, options) {
  const context = { services: [], podLabels: [], secrets: new Set(), configMaps: new Set(),
                    secretRefs: [], configMapRefs: [], images: [] };
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  let count = 0;
  for (const doc of docs) {
    if (doc.errors.length) { fail(file, `YAML: ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    const where = `${obj.kind ?? "?"} ${obj.metadata?.name ?? "?"}`;
    count++;
    await validateSchema(obj, where);
    checkPolicy(obj, where, context);
  }
  checkReferences(context, new Set(options.existingSecrets));
  if (options.values) {
    const allowed = imagesFromValues(options.values);
    for (const [where, image] of context.images) {
      if (!allowed.has(image)) fail(where, `image ${image} is not one the values name (${[...allowed].join(", ")})`);
    }
  }
  if (count === 0) fail(file, "no objects");
  console.log(`${file}: ${count} objects checked`);
}

function checkValues(chartDir, files) {
  const schema = JSON.parse(readFileSync(`${chartDir}/values.schema.json`, "utf8"));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const defaults = parse(readFileSync(`${chartDir}/values.yaml`, "utf8"));
  for (const file of [null, ...files]) {
    const values = file ? deepMerge(defaults, parse(readFileSync(file, "utf8"))) : defaults;
    if (!validate(values)) {
      for (const e of validate.errors) fail(file ?? `${chartDir}/values.yaml`, `${e.instancePath || "/"} ${e.message}`);
    }
    console.log(`${file ?? `${chartDir}/values.yaml`}: values checked against values.schema.json`);
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "schema") {
  checkValues(args[0], args.slice(1));
} else if (mode === "manifests") {
  const options = { existingSecrets: [] };
  const file = args[0];
  for (let i = 1; i < args.length; i += 2) {
    if (args[i] === "--values") options.values = args[i + 1];
    else if (args[i] === "--existing-secrets") options.existingSecrets = args[i + 1].split(",");
    else { console.error(`unknown option ${args[i]}`); process.exit(2); }
  }
  await checkManifests(file, options);
} else {
  console.error("usage: node validate.mjs schema CHART_DIR VALUES... | manifests FILE [--values CHART[:VALUES]] [--existing-secrets a,b]");
  process.exit(2);
}
for (const p of problems) console.log(`FAIL ${p}`);
process.exit(problems.length ? 1 : 0);
