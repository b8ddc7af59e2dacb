/**
 * The Kubernetes manifest's container, run here: the built CLI started with the Deployment's own arguments
 * and environment (only host and port changed, the model mirror and cache pointed at the test's), probed on
 * the probes' path, scraped for the autoscaler's metric, and stopped with SIGTERM within the pod's grace.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { loadAll } from 'js-yaml';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const root = resolve(__dirname, '../../..');
const cache = mkdtempSync(join(tmpdir(), 'decodekit-deploy-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

interface Container {
  args: string[];
  env: { name: string; value: string }[];
  readinessProbe: { httpGet: { path: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

it('serves with the Deployment arguments, answers the probes, exports the HPA metric, drains on SIGTERM', async () => {
  if (!existsSync(bin))
    throw new Error(
      `${bin} is missing: build the CLI first (pnpm turbo run build --filter=@decodekit/cli...).`,
    );
  const manifests = loadAll(
    readFileSync(join(root, 'deploy/kubernetes/decodekit-serve.yaml'), 'utf8'),
  ) as { spec: { template: { spec: unknown } } }[];
  const pod = manifests[0].spec.template.spec as {
    terminationGracePeriodSeconds: number;
    containers: Container[];
  };
  const container = pod.containers[0];
  const [queueHpa] = loadAll(
    readFileSync(join(root, 'deploy/kubernetes/hpa-queue-depth.yaml'), 'utf8'),
  ) as { spec: { metrics: { pods: { metric: { name: string } } }[] } }[];
  const args = [...container.args];
  args[args.indexOf('--host') + 1] = '127.0.0.1';
  args[args.indexOf('--port') + 1] = '0';
  const env = {
    ...process.env,
    ...Object.fromEntries(container.env.map(entry => [entry.name, entry.value])),
  };
  env.DECODEKIT_MODELS = process.env.DECODEKIT_MODELS;
  env.DECODEKIT_CACHE = cache;
  expect(env.DECODEKIT_OFFLINE).toBe('1'); // the model must resolve without the network

  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>(resolveExit =>
    child.once('exit', code => resolveExit(code)),
  );
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stderr?.on('data', (data: Buffer) => {
        stderr += data.toString();
        const match = /on (http:\/\/\S+)\/v1/.exec(stderr);
        if (match) resolveUrl(match[1]);
      });
      child.once('exit', () => reject(new Error(`decodekit serve exited early: ${stderr}`)));
    });
    const probe = await fetch(`${url}${container.readinessProbe.httpGet.path}`);
    expect(probe.status).toBe(200);
    const health = (await probe.json()) as {
      status: string;
      models: string[];
      queue: { capacity: number };
    };
    const maxQueue = Number(args[args.indexOf('--max-queue') + 1]);
    expect(health).toEqual({
      status: 'ok',
      models: ['stories260K'],
      queue: { active: 0, queued: 0, capacity: maxQueue },
    });
    const reply = (await (
      await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'stories260K',
          prompt: 'Once upon a time',
          max_tokens: 8,
          temperature: 0,
        }),
      })
    ).json()) as { usage: { completion_tokens: number } };
    expect(reply.usage.completion_tokens).toBe(8);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^${queueHpa.spec.metrics[0].pods.metric.name} 0$`, 'm'));
    expect(metrics).toMatch(
      /^decodekit_generated_tokens_total\{model="stories260K",strategy="autoregressive"\} 8$/m,
    );

    const stopped = performance.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    expect((performance.now() - stopped) / 1000).toBeLessThan(
      pod.terminationGracePeriodSeconds - preStop,
    );
    expect(stderr).toContain('SIGTERM, finishing running requests');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
