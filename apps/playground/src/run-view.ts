import type { DecodeStats, FinishReason } from '@decodekit/core';
import { h, replaceChildren } from './dom';
import type { TimedEvent } from './protocol';
import { renderDraftTree, type DraftStep } from './tree-view';

/** Live numbers of a run, from its events; replaced by the decoder's own stats when `done` arrives. */
export interface LiveStats {
  tokens: number;
  /** Decode-time target forwards (one per step that ends with a target or bonus token). */
  forwards: number;
  proposed: number;
  accepted: number;
  /** Worker time (ms since the run began) of the first and the latest token. */
  firstTokenAt?: number;
  lastTokenAt?: number;
  final?: DecodeStats;
  reason?: FinishReason;
}

/** Cumulative tokens over time, for the race chart. */
export interface TokenTimeline {
  readonly times: number[];
}

/**
 * One run as the page shows it: the prompt and the output tokens coloured by origin, live stats, and
 * (optionally) the last draft tree. Events are played back at `pace` ms per step so drafts can be watched.
 */
export class RunView {
  readonly element: HTMLElement;
  readonly tokenIds: number[] = [];
  readonly timeline: TokenTimeline = { times: [] };
  text = '';
  private readonly output: HTMLElement;
  private readonly statsElement: HTMLElement;
  private readonly treeElement?: HTMLElement;
  private readonly status: HTMLElement;
  private stats: LiveStats = { tokens: 0, forwards: 0, proposed: 0, accepted: 0 };
  private queue: TimedEvent[] = [];
  private pendingDraft?: { tokens: Int32Array; parents: Int32Array };
  private lastStep?: DraftStep;
  private steps = 0;
  private dirty = false;
  private timer?: ReturnType<typeof setTimeout>;
  private frame?: number;
  private finished?: () => void;
  private ended = false;
  private cancelled = false;

  constructor(
    private readonly options: {
      readonly title?: string;
      readonly labels: readonly string[];
      readonly pace: number;
      readonly showTree: boolean;
      readonly testId: string;
    },
  ) {
    this.output = h('div', {
      class: 'output',
      'data-testid': `${options.testId}-output`,
      'aria-live': 'polite',
    });
    this.statsElement = h('dl', { class: 'stats', 'data-testid': `${options.testId}-stats` });
    this.status = h(
      'span',
      { class: 'run-status', 'data-testid': `${options.testId}-status` },
      'idle',
    );
    if (options.showTree)
      this.treeElement = h('div', { class: 'tree-box', 'data-testid': `${options.testId}-tree` });
    this.element = h(
      'section',
      { class: 'run', 'data-testid': options.testId },
      h(
        'header',
        { class: 'run-header' },
        options.title ? h('h2', {}, options.title) : false,
        this.status,
      ),
      this.output,
      this.statsElement,
      this.treeElement
        ? h('div', { class: 'tree-panel' }, h('h3', {}, 'Last draft tree'), this.treeElement)
        : false,
    );
    this.renderStats();
    if (this.treeElement) renderDraftTree(this.treeElement, undefined, options.labels);
  }

  /** Starts a run: shows the prompt as plain text. */
  start(prompt: string): void {
    replaceChildren(this.output, h('span', { class: 'prompt' }, prompt));
    this.text = prompt;
    this.setStatus('running', 'running…');
  }

  setStatus(kind: string, text: string): void {
    this.status.className = `run-status ${kind}`;
    this.status.textContent = text;
  }

  /** Queues events from the worker; they are drawn on the next frame or at the playback pace. */
  push(events: readonly TimedEvent[]): void {
    if (this.cancelled) return;
    this.queue.push(...events);
    this.schedule();
  }

  /** Resolves once every queued event has been drawn (after the run's `done`). */
  drained(): Promise<void> {
    return new Promise(resolve => {
      this.finished = resolve;
      this.ended = true;
      this.schedule();
    });
  }

  /** Stops playback and drops what was not drawn yet. */
  cancel(): void {
    this.cancelled = true;
    this.queue = [];
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.timer = this.frame = undefined;
    this.finished?.();
  }

  get liveStats(): LiveStats {
    return this.stats;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.frame !== undefined) return;
    if (this.options.pace > 0) this.timer = setTimeout(() => this.tick(), this.options.pace);
    else this.frame = requestAnimationFrame(() => this.tick());
  }

  private tick(): void {
    this.timer = this.frame = undefined;
    if (this.options.pace > 0) {
      // One verification step per tick: up to and including the step's target or bonus token.
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        this.apply(next);
        if (next.event.type === 'token' && next.event.origin !== 'draft') break;
      }
    } else {
      for (const event of this.queue) this.apply(event);
      this.queue = [];
    }
    this.render();
    if (this.queue.length > 0) this.schedule();
    else if (this.ended) this.finished?.();
  }

  private apply({ t, event }: TimedEvent): void {
    switch (event.type) {
      case 'token': {
        this.tokenIds.push(event.tokenId);
        this.timeline.times.push(t);
        this.stats.tokens += 1;
        this.stats.firstTokenAt ??= t;
        this.stats.lastTokenAt = t;
        if (event.origin !== 'draft') this.stats.forwards += 1;
        else this.stats.accepted += 1;
        this.text += event.text;
        const span = h(
          'span',
          {
            class: `tok ${event.origin}`,
            title: `token ${event.tokenId} · ${event.origin === 'draft' ? 'accepted draft' : event.origin}`,
          },
          event.text,
        );
        this.output.append(span);
        break;
      }
      case 'draft':
        this.pendingDraft = event.tree;
        this.stats.proposed += event.tree.tokens.length;
        break;
      case 'verify':
        this.steps += 1;
        if (this.pendingDraft) {
          this.lastStep = {
            rootToken: this.tokenIds[this.tokenIds.length - 1],
            tokens: this.pendingDraft.tokens,
            parents: this.pendingDraft.parents,
            acceptedRows: event.acceptedRows,
            bonusToken: event.bonusToken,
            step: this.steps,
          };
          this.pendingDraft = undefined;
        }
        break;
      case 'done':
        this.stats.final = event.stats;
        this.stats.reason = event.reason;
        this.setStatus('done', `done · ${event.reason}`);
        break;
    }
    this.dirty = true;
  }

  private render(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.renderStats();
    if (this.treeElement) renderDraftTree(this.treeElement, this.lastStep, this.options.labels);
  }

  private renderStats(): void {
    const { tokens, forwards, proposed, accepted, final } = this.stats;
    const elapsed =
      this.stats.firstTokenAt !== undefined && this.stats.lastTokenAt !== undefined
        ? this.stats.lastTokenAt - this.stats.firstTokenAt
        : 0;
    const tokensPerSecond = final
      ? final.tokensPerSecond
      : elapsed > 0
        ? ((tokens - 1) * 1000) / elapsed
        : 0;
    const tau = final ? final.meanAcceptedTokens : forwards > 0 ? tokens / forwards : 0;
    const acceptance = final
      ? final.acceptanceRate
      : proposed > 0
        ? accepted / proposed
        : undefined;
    const passes = final ? final.forwardPasses : forwards;
    const item = (name: string, value: string, key: string, hint: string): HTMLElement[] => [
      h('dt', { title: hint }, name),
      h('dd', { 'data-stat': key }, value),
    ];
    replaceChildren(
      this.statsElement,
      ...item(
        'tokens/s',
        tokensPerSecond > 0 ? tokensPerSecond.toFixed(0) : '—',
        'tokens-per-second',
        'Generated tokens per second of decode time',
      ),
      ...item('τ', tau > 0 ? tau.toFixed(2) : '—', 'tau', 'Mean tokens emitted per target forward'),
      ...item(
        'acceptance',
        acceptance === undefined ? '—' : `${(acceptance * 100).toFixed(0)}%`,
        'acceptance',
        'Accepted draft tokens / proposed draft tokens',
      ),
      ...item(
        'forward passes',
        passes > 0 ? String(passes) : '—',
        'forward-passes',
        'Target-model forward calls (the prefill included once done)',
      ),
      ...item('tokens', String(tokens), 'tokens', 'Generated tokens'),
    );
  }
}
