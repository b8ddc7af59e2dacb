/**
 * deploy/ cannot be built or applied here (no Docker engine, no cluster), so this checks what can be checked
 * without them: the manifests parse, the container runs `decodekit serve` with options it has, the probes,
 * ports, labels and grace periods agree with each other and with the server, and the Dockerfile copies
 * paths that exist and runs the CLI's real bin. deploy.int.test.ts starts the server with the manifest's
 * own arguments and probes it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it, assert } from 'vitest';
import { loadAll } from 'js-yaml';
import { createProgram } from './program.js';

// Kubernetes objects are deep, loosely typed trees; the assertions below check the parts that matter.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>;

const root = resolve(__dirname, '../../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');

/** Every document of a multi-document YAML file (js-yaml throws on a syntax error or a duplicate key). */
function yamlDocuments(path: string): Manifest[] {
  const documents = loadAll(read(path)) as Manifest[];
  for (const document of documents)
    expect(document, `${path} holds an empty document`).toBeTypeOf('object');
  return documents;
}

/** The long option names `decodekit serve` accepts. */
function serveOptions(): Set<string> {
  const serve = createProgram().commands.find(command => command.name() === 'serve');
  assert(serve, 'the CLI has a serve command');
  return new Set(serve.options.map(option => option.long ?? option.flags));
}

/** `--name value` pairs of an argument list; every name must be an option of `decodekit serve`. */
function optionValues(args: readonly string[]): Map<string, string> {
  const known = serveOptions();
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    expect(known, `unknown option ${args[i]}`).toContain(args[i]);
    expect(args[i + 1], `${args[i]} needs a value`).toBeTypeOf('string');
    values.set(args[i], args[i + 1]);
  }
  return values;
}

/** Dockerfile instructions (continuations joined, comments dropped) as [keyword, rest]. */
function dockerInstructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !line.startsWith('#'))
    .map(line => {
      const [keyword, ...rest] = line.split(/\s+/);
      return [keyword.toUpperCase(), rest.join(' ')];
    });
}

describe('deploy/kubernetes', () => {
  const [deployment, service, hpa, budget] = yamlDocuments(
    'deploy/kubernetes/decodekit-serve.yaml',
  );
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const args = optionValues(container.args);

  it('holds a Deployment, a Service, a CPU autoscaler and a disruption budget on the same labels', () => {
    expect([deployment.kind, service.kind, hpa.kind, budget.kind]).toEqual([
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
    ]);
    const labels = deployment.spec.template.metadata.labels;
    for (const selector of [
      deployment.spec.selector.matchLabels,
      service.spec.selector,
      budget.spec.selector.matchLabels,
    ]) {
      expect(labels).toMatchObject(selector);
    }
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    // CPU utilization is measured against the request, so the container must request CPU.
    expect(container.resources.requests.cpu).toBeDefined();
    expect(hpa.spec.minReplicas).toBeGreaterThan(budget.spec.minAvailable);
  });

  it('wires every probe to /health on the port the server listens on', () => {
    const port = container.ports.find((entry: { name: string }) => entry.name === 'http');
    expect(String(port.containerPort)).toBe(args.get('--port'));
    expect(args.get('--host')).toBe('0.0.0.0');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(container[probe].httpGet, probe).toEqual({ path: '/health', port: 'http' });
    }
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/path': '/metrics',
      'prometheus.io/port': String(port.containerPort),
    });
  });

  it('lets a draining server finish: grace period ≥ preStop + --shutdown-grace, and liveness cannot fire first', () => {
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    const shutdownGraceSeconds = Number(args.get('--shutdown-grace')) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStopSeconds + shutdownGraceSeconds + 5,
    );
    const liveness = container.livenessProbe;
    expect(liveness.periodSeconds * liveness.failureThreshold).toBeGreaterThan(
      pod.terminationGracePeriodSeconds,
    );
  });

  it('runs offline from a read-only model mirror with a writable cache', () => {
    const env = Object.fromEntries(
      container.env.map((entry: { name: string; value: string }) => [entry.name, entry.value]),
    );
    expect(env).toMatchObject({
      DECODEKIT_OFFLINE: '1',
      DECODEKIT_MODELS: '/models',
      DECODEKIT_CACHE: '/cache',
    });
    const mounts = Object.fromEntries(
      container.volumeMounts.map((mount: { mountPath: string; readOnly?: boolean }) => [
        mount.mountPath,
        mount.readOnly ?? false,
      ]),
    );
    expect(mounts).toEqual({ '/models': true, '/cache': false });
  });

  it('has a queue-depth autoscaler on a metric the server exports', () => {
    const [queueHpa] = yamlDocuments('deploy/kubernetes/hpa-queue-depth.yaml');
    expect(queueHpa.metadata.name).toBe(hpa.metadata.name);
    const metric = queueHpa.spec.metrics[0].pods.metric.name;
    expect(read('packages/server/src/metrics.ts')).toContain(`name: '${metric}'`);
    expect(Number(queueHpa.spec.metrics[0].pods.target.averageValue)).toBeLessThan(
      Number(args.get('--max-queue')),
    );
  });
});

describe('deploy/Dockerfile', () => {
  const instructions = dockerInstructions(read('deploy/Dockerfile'));
  const arg = (name: string): string =>
    (
      instructions.find(
        ([keyword, rest]) => keyword === 'ARG' && rest.startsWith(`${name}=`),
      )?.[1] ?? ''
    ).split('=')[1];

  it('copies only paths that exist in the repository', () => {
    const copies = instructions.filter(
      ([keyword, rest]) => keyword === 'COPY' && !rest.startsWith('--from'),
    );
    expect(copies.length).toBeGreaterThan(1);
    for (const [, rest] of copies) {
      const sources = rest.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        const path =
          source === '.' ? '.' : source.replace(/\$\{(\w+)\}/g, (_, name: string) => arg(name));
        expect(existsSync(resolve(root, path)), `COPY ${path}`).toBe(true);
      }
    }
  });

  it('installs the pinned pnpm, builds the CLI and runs its bin as `decodekit serve`', () => {
    const { packageManager } = JSON.parse(read('package.json')) as { packageManager: string };
    const runs = instructions.filter(([keyword]) => keyword === 'RUN').map(([, rest]) => rest);
    expect(runs).toContain(`npm install -g -E ${packageManager}`);
    const cli = JSON.parse(read('packages/cli/package.json')) as {
      name: string;
      bin: { decodekit: string };
    };
    for (const run of runs.filter(line => line.includes('--filter'))) {
      expect(run).toContain(cli.name);
    }
    expect(runs.some(line => line.startsWith(`pnpm --filter ${cli.name} deploy --prod /out`))).toBe(
      true,
    );
    const entrypoint = JSON.parse(
      instructions.find(([keyword]) => keyword === 'ENTRYPOINT')?.[1] ?? 'null',
    ) as string[];
    expect(entrypoint).toEqual(['node', resolve('/app', cli.bin.decodekit), 'serve']);
    const cmd = JSON.parse(
      instructions.find(([keyword]) => keyword === 'CMD')?.[1] ?? 'null',
    ) as string[];
    const defaults = optionValues(cmd);
    const exposed = instructions.find(([keyword]) => keyword === 'EXPOSE')?.[1];
    expect(defaults.get('--port')).toBe(exposed);
    const [deployment] = yamlDocuments('deploy/kubernetes/decodekit-serve.yaml');
    expect(String(deployment.spec.template.spec.containers[0].ports[0].containerPort)).toBe(
      exposed,
    );
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(1000); // the node image's `node` user
    expect(instructions).toContainEqual(['USER', 'node']);
  });

  it('sets the offline environment, and its ignore file keeps build outputs out of the context', () => {
    const env = instructions
      .filter(([keyword]) => keyword === 'ENV')
      .map(([, rest]) => rest)
      .join(' ');
    expect(env).toMatch(/DECODEKIT_OFFLINE=1/);
    expect(env).toMatch(/DECODEKIT_MODELS=\/models/);
    const ignored = read('deploy/Dockerfile.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });
});
