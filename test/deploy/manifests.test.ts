import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  find,
  KUSTOMIZATIONS,
  podTemplates,
  readYaml,
  render,
  type Container,
  type K8sObject,
  type Kustomization,
  type PodSpec,
} from './manifests';

/** The kinds these manifests may use, each with its Kubernetes schema (kubernetes-models). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

const NAMESPACE = 'activity-logger';
const APP_WORKLOADS = ['activity-logger-api', 'activity-logger-worker', 'activity-logger-topics'];
/** Pod Security "restricted": the volume types it allows. */
const RESTRICTED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

function validate(object: K8sObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
}

/** Violations of Pod Security "restricted" (and this project's own stricter rules) in one pod. */
function podSecurityViolations(spec: PodSpec): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true) problems.push('host namespaces');
  if (spec.automountServiceAccountToken !== false) problems.push('automountServiceAccountToken is not false');
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type === undefined || !RESTRICTED_VOLUME_TYPES.includes(type)) problems.push(`volume ${volume.name}: ${type}`);
  }
  const containers: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  for (const container of containers) {
    const own = container.securityContext ?? {};
    const at = (rule: string) => problems.push(`${container.name}: ${rule}`);
    if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true) at('runAsNonRoot is not true');
    const uid = own.runAsUser ?? pod.runAsUser;
    if (uid === undefined || uid === 0) at('no non-zero runAsUser');
    const seccomp = (own.seccompProfile ?? pod.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') at(`seccompProfile ${String(seccomp)}`);
    if (own.allowPrivilegeEscalation !== false) at('allowPrivilegeEscalation is not false');
    if (own.privileged === true) at('privileged');
    if (!(own.capabilities?.drop ?? []).includes('ALL')) at('capabilities do not drop ALL');
    const added = (own.capabilities?.add ?? []).filter((capability) => capability !== 'NET_BIND_SERVICE');
    if (added.length > 0) at(`adds capabilities ${added.join(',')}`);
    if (own.readOnlyRootFilesystem !== true) at('root filesystem is writable');
    if ((container.ports ?? []).some((port) => port.hostPort !== undefined)) at('hostPort');
  }
  return problems;
}

describe.each(Object.keys(KUSTOMIZATIONS) as Kustomization[])('kustomization %s', (kustomization) => {
  const objects = render(kustomization);

  test('every object is valid against its Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(10);
    const invalid = objects.flatMap((object) => {
      try {
        validate(object);
        return [];
      } catch (error) {
        return [`${object.kind}/${object.metadata.name}: ${(error as Error).message}`];
      }
    });
    expect(invalid).toEqual([]);
  });

  test('everything lives in the namespace, which enforces Pod Security "restricted"', () => {
    const namespace = find(objects, 'Namespace', NAMESPACE);
    expect(namespace.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const elsewhere = objects.filter(
      (object) => object.kind !== 'Namespace' && object.metadata.namespace !== NAMESPACE,
    );
    expect(elsewhere.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([]);
  });

  test('every pod template passes Pod Security "restricted" with a read-only root filesystem', () => {
    const templates = podTemplates(objects);
    expect(templates.length).toBeGreaterThanOrEqual(3);
    const violations = templates.flatMap(({ owner, spec }) =>
      podSecurityViolations(spec).map((problem) => `${owner}: ${problem}`),
    );
    expect(violations).toEqual([]);
  });

  test("the project's own pods run as uid 1000 under the token-less service account", () => {
    const serviceAccount = find(objects, 'ServiceAccount', 'activity-logger');
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    for (const name of APP_WORKLOADS) {
      const { spec } = podTemplates(objects).find(({ owner }) => owner.endsWith(`/${name}`)) ?? {};
      expect({ name, uid: spec?.securityContext?.runAsUser, sa: spec?.serviceAccountName }).toEqual({
        name,
        uid: 1000,
        sa: 'activity-logger',
      });
    }
  });

  test('images are pinned to a version and not pulled when already present', () => {
    const containers = podTemplates(objects).flatMap(({ spec }) => [
      ...(spec.initContainers ?? []),
      ...spec.containers,
    ]);
    for (const { name, image, imagePullPolicy } of containers) {
      expect({ name, image, imagePullPolicy }).toEqual({
        name,
        image: expect.stringMatching(/^[^:@]+(:\d[\w.-]*|@sha256:[0-9a-f]{64})$/) as unknown,
        imagePullPolicy: 'IfNotPresent',
      });
    }
  });

  test('every container has memory requests and limits', () => {
    for (const { owner, spec } of podTemplates(objects)) {
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect({
          owner,
          requests: container.resources?.requests?.memory,
          limits: container.resources?.limits?.memory,
        }).toEqual({ owner, requests: expect.any(String) as unknown, limits: expect.any(String) as unknown });
      }
    }
  });

  test('the Ingress routes only /api, to the API Service', () => {
    const ingress = find<{ spec: { rules: { http: { paths: unknown[] } }[] } }>(
      objects,
      'Ingress',
      'activity-logger-api',
    );
    expect(ingress.spec.rules.flatMap((rule) => rule.http.paths)).toEqual([
      {
        path: '/api',
        pathType: 'Prefix',
        backend: { service: { name: 'activity-logger-api', port: { name: 'http' } } },
      },
    ]);
  });

  test('a default-deny NetworkPolicy covers every pod, DNS included in what is allowed back', () => {
    const policies = objects.filter((object) => object.kind === 'NetworkPolicy');
    expect(find(policies, 'NetworkPolicy', 'default-deny').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    expect(JSON.stringify(find(policies, 'NetworkPolicy', 'allow-dns').spec)).toContain('"port":53');
  });

  test('the worker autoscaler never goes past the partition count; each Deployment has a PDB', () => {
    const config = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'activity-logger');
    const worker = find<{ spec: { maxReplicas: number } }>(
      objects,
      'HorizontalPodAutoscaler',
      'activity-logger-worker',
    );
    expect(worker.spec.maxReplicas).toBe(Number(config.data.KAFKA_TOPIC_PARTITIONS));
    find(objects, 'HorizontalPodAutoscaler', 'activity-logger-api');
    for (const name of ['activity-logger-api', 'activity-logger-worker']) {
      find(objects, 'PodDisruptionBudget', name);
      // The autoscalers own the replica count; a fixed one would be reset on every apply.
      expect(find<{ spec: { replicas?: number } }>(objects, 'Deployment', name).spec.replicas).toBeUndefined();
    }
  });
});

test('the base ConfigMap assumes neither TLS nor SASL; the cloud overlay turns both on', () => {
  const data = (kustomization: Kustomization) =>
    find<{ data: Record<string, string> }>(render(kustomization), 'ConfigMap', 'activity-logger').data;
  expect(Object.keys(data('base')).filter((key) => /SSL|SASL/.test(key))).toEqual([]);
  expect(data('cloud')).toMatchObject({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain' });
  expect(Object.keys(data('self-hosted')).filter((key) => /SSL|SASL/.test(key))).toEqual([]);
});

test('the self-hosted overlay runs Kafka and MongoDB on local-path volumes', () => {
  const objects = render('self-hosted');
  for (const name of ['kafka', 'mongodb']) {
    const set = find<{ spec: { volumeClaimTemplates: { spec: { storageClassName: string } }[] } }>(
      objects,
      'StatefulSet',
      name,
    );
    expect(set.spec.volumeClaimTemplates.map((claim) => claim.spec.storageClassName)).toEqual(['local-path']);
  }
});

test('the example Secrets are valid Secrets for the namespace', () => {
  const secrets = readYaml('k8s-secrets.example.yaml');
  expect(secrets.map((secret) => secret.metadata.name).sort()).toEqual(['activity-logger', 'activity-logger-api-keys']);
  for (const secret of secrets) {
    validate(secret);
    expect(secret.metadata.namespace).toBe(NAMESPACE);
  }
});
