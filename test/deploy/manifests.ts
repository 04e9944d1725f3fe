import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Helpers for the deploy checks: render the kustomizations and pick objects out of them. */

export const ROOT = path.resolve(__dirname, '../..');

export const KUSTOMIZATIONS = {
  base: 'k8s',
  cloud: 'k8s/overlays/cloud',
  'self-hosted': 'k8s/overlays/self-hosted',
} as const;
export type Kustomization = keyof typeof KUSTOMIZATIONS;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize` (kubectl ships kustomize), or a standalone `kustomize build` (.ci/run's). */
function kustomizeCommand(): [string, string[]] {
  const standalone = [path.join(ROOT, '.ci/bin/kustomize'), path.join(homedir(), 'go/bin/kustomize')].find((file) =>
    existsSync(file),
  );
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return ['kubectl', ['kustomize']];
  } catch {
    return [standalone ?? 'kustomize', ['build']];
  }
}

const rendered = new Map<Kustomization, K8sObject[]>();

export function render(kustomization: Kustomization): K8sObject[] {
  let objects = rendered.get(kustomization);
  if (objects === undefined) {
    const [command, args] = kustomizeCommand();
    const text = execFileSync(command, [...args, path.join(ROOT, KUSTOMIZATIONS[kustomization])], {
      encoding: 'utf8',
    });
    objects = parseYaml(text);
    rendered.set(kustomization, objects);
  }
  return objects;
}

export function parseYaml(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

export function readYaml(relativePath: string): K8sObject[] {
  return parseYaml(readFileSync(path.join(ROOT, relativePath), 'utf8'));
}

export function find<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found as T;
}

// The slice of the pod API these checks read.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  timeoutSeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}
export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  initContainers?: Container[];
  containers: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

/** Every pod template in the rendered objects (Deployments, StatefulSets, Jobs), with its owner. */
export function podTemplates(objects: readonly K8sObject[]): { owner: string; spec: PodSpec }[] {
  return objects.flatMap((object) => {
    const spec = object.spec as { template?: { spec: PodSpec } } | undefined;
    return spec?.template === undefined
      ? []
      : [{ owner: `${object.kind}/${object.metadata.name}`, spec: spec.template.spec }];
  });
}

export function podSpecOf(objects: readonly K8sObject[], kind: string, name: string): PodSpec {
  return find<{ spec: { template: { spec: PodSpec } } }>(objects, kind, name).spec.template.spec;
}

export function containerOf(objects: readonly K8sObject[], kind: string, name: string): Container {
  const [container] = podSpecOf(objects, kind, name).containers;
  if (container === undefined) throw new Error(`${kind} ${name} has no container`);
  return container;
}
