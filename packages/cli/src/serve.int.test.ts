/** `decodekit serve` as users run it: the built CLI in a child process, on 127.0.0.1, stopped with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

function start(args: string[]): {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<{ code: number | null; stderr: string }>;
} {
  if (!existsSync(bin))
    throw new Error(
      `${bin} is missing: build the CLI first (pnpm turbo run build --filter=@decodekit/cli...).`,
    );
  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    env: process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /on (http:\/\/\S+)\/v1/.exec(stderr);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error(`decodekit serve exited early: ${stderr}`)));
  });
  const exit = new Promise<{ code: number | null; stderr: string }>(resolve =>
    child.once('exit', code => resolve({ code, stderr })),
  );
  return { child, url, exit };
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('decodekit serve', () => {
  it('serves the OpenAI API, picks strategies by name, and shuts down cleanly on SIGTERM', async () => {
    const server = start([
      '--port',
      '0',
      '--max-queue',
      '4',
      '--model',
      'tiny=karpathy/tinyllamas/stories260K',
      '--strategies',
      'token-recycling,prompt-lookup',
    ]);
    children.push(server.child);
    const url = await server.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map(model => model.id)).toEqual(['tiny']);
    const request = (strategy: string) =>
      fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny',
          prompt: 'Once upon a time',
          max_tokens: 30,
          temperature: 0,
          decodekit: { strategy },
        }),
      }).then(
        response =>
          response.json() as Promise<{ choices: { text: string }[]; system_fingerprint: string }>,
      );
    const plain = await request('autoregressive');
    const recycled = await request('token-recycling');
    expect(recycled.choices[0].text).toBe(plain.choices[0].text);
    expect(recycled.system_fingerprint).toBe('decodekit-token-recycling');
    const refused = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'x', decodekit: { strategy: 'lookahead' } }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'offers: autoregressive, token-recycling, prompt-lookup',
    );
    const health = (await (await fetch(`${url}/health`)).json()) as { queue: { capacity: number } };
    expect(health.queue.capacity).toBe(4);
    server.child.kill('SIGTERM');
    const { code, stderr } = await server.exit;
    expect(code).toBe(0);
    expect(stderr).toContain('SIGTERM, finishing running requests');
  });

  it('exits 2 with one line for a bad option', async () => {
    const server = start(['--strategy', 'warp-drive']);
    children.push(server.child);
    server.url.catch(() => undefined);
    const { code, stderr } = await server.exit;
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringContaining('unknown strategy "warp-drive"'),
    ]);
  });
});
