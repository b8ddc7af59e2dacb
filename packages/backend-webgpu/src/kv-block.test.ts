import { describe, expect, it } from 'vitest';
import { KvBlock, type DeviceTensor } from './kv-block';

function tensor(log: string[], name: string): DeviceTensor {
  return { type: 'float32', dims: [1], location: 'gpu-buffer', dispose: () => log.push(name) };
}

describe('KvBlock', () => {
  it('disposes its tensors when the last reference is released, once', () => {
    const log: string[] = [];
    const freed: KvBlock[] = [];
    const block = new KvBlock([tensor(log, 'a'), tensor(log, 'b')], b => freed.push(b));
    block.retain().retain();
    block.release();
    block.release();
    expect(log).toEqual([]);
    block.release();
    expect(log).toEqual(['a', 'b']);
    expect(freed).toEqual([block]);
    block.release();
    expect(log).toEqual(['a', 'b']);
    expect(() => block.retain()).toThrow(/freed/);
  });

  it('never disposes a shared (not owned) block', () => {
    const log: string[] = [];
    const block = new KvBlock([tensor(log, 'empty')], undefined, false);
    block.retain().release();
    block.release();
    block.free();
    expect(log).toEqual([]);
  });
});
