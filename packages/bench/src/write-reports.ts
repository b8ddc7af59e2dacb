import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { AR, type BenchResult } from './run-bench.js';
import { round } from './statistics.js';

/** Paths written by {@link writeReports}. */
export interface WrittenReports {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
}

/**
 * Writes `bench.json` (the result as is), `bench.md` (summary, cost-curve and transformers.js tables) and
 * `bench.svg` (speedup per strategy, and the cost curves when there are any, stacked in one SVG) into
 * `outDir`, creating it when needed.
 */
export async function writeReports(result: BenchResult, outDir: string): Promise<WrittenReports> {
  await mkdir(outDir, { recursive: true });
  const paths = {
    json: join(outDir, 'bench.json'),
    markdown: join(outDir, 'bench.md'),
    svg: join(outDir, 'bench.svg'),
  };
  // NOTE: JSON.stringify writes NaN (e.g. a speedup with no decode time) as null.
  await writeFile(paths.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(paths.markdown, renderMarkdown(result));
  await writeFile(paths.svg, renderSvg(result));
  return paths;
}

function cell(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toFixed(digits);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The markdown report: what ran where, the summary per strategy, cost curves, transformers.js vs our AR. */
export function renderMarkdown(result: BenchResult): string {
  const { meta } = result;
  const parts: string[] = [
    `# decodekit bench — ${meta.model}${meta.model_label ? ` (twin: ${meta.model_label})` : ''}`,
    '',
    `Backend \`${meta.backend}\` on ${meta.machine} (${meta.cpus} CPUs), Node ${meta.node}, ${meta.date}. ` +
      `${meta.prompts} prompts × ${meta.repeats} repeats, max tokens ${meta.maxTokens ?? 'per prompt'}, ` +
      `temperature ${meta.temperature}, seed ${meta.seed}${meta.ignoreEos ? ', EOS ignored' : ''}.`,
    '',
    '## Summary',
    '',
    table(
      [
        'strategy',
        'lossless',
        'speedup (median)',
        'τ (mean)',
        'tokens/s (median)',
        'acceptance',
        'mismatches',
        'rows/forward',
        'ceiling',
        'efficiency',
        'speedup (CPU)',
        'efficiency (CPU)',
        'draft fraction',
        'peak RSS MiB',
      ],
      result.summary.map(row => [
        row.strategy,
        row.lossless ? 'yes' : 'no',
        `${cell(row.speedup_median)}×`,
        cell(row.tau_mean),
        cell(row.tokens_per_s_median, 0),
        cell(row.acceptance_rate_mean),
        row.strategy === AR || !row.lossless || meta.temperature > 0
          ? '–'
          : `${row.mismatches}/${row.runs}`,
        cell(row.rows_mean, 1),
        row.ceiling === null || row.ceiling === undefined ? '–' : `${cell(row.ceiling)}×`,
        cell(row.efficiency),
        Number.isFinite(row.cpu_speedup_median) ? `${cell(row.cpu_speedup_median)}×` : '–',
        cell(row.cpu_efficiency),
        cell(row.draft_fraction),
        cell(row.peak_rss_mb, 0),
      ]),
    ),
    '',
    "Speedup: AR decode time over the strategy's on the same prompt and repeat (per token), median over runs. " +
      'τ: tokens emitted per target forward. Rows/forward: mean rows verified per decode-time target forward. ' +
      'Ceiling: τ over the mean relative cost (cost curve below) of the forwards each run made, median over runs — ' +
      'the speedup free drafting would give on this hardware. Efficiency: speedup / ceiling. ' +
      'Speedup (CPU) and efficiency (CPU): the same from the process CPU time of each generation (prefill included), ' +
      'which a shared, loaded machine distorts far less than wall time. ' +
      'Draft fraction: decode time outside verification forwards.',
  ];
  const threads = Object.entries(result.threads ?? {});
  if (threads.length > 0) {
    parts.push(
      '',
      '## ONNX Runtime intra-op threads',
      '',
      table(
        [
          'model',
          'chosen',
          'criterion',
          ...threads[0][1].sweep.map(entry => `${entry.threads} thread(s)`),
        ],
        threads.map(([model, choice]) => [
          model,
          String(choice.chosen),
          choice.criterion,
          ...choice.sweep.map(entry => `${cell(entry.score_ms)} ms`),
        ]),
      ),
    );
  }
  const curves = Object.entries(result.cost_curve ?? {});
  if (curves.length > 0) {
    const ks = [...new Set(curves.flatMap(([, curve]) => curve.map(point => point.k)))].sort(
      (a, b) => a - b,
    );
    parts.push(
      '',
      '## Cost of one forward of k tokens',
      '',
      'Median ms of one forward of k new tokens after the context, and in parentheses relative to k = 1. ' +
        'A strategy with τ tokens per step at k draft rows can reach at most τ / relative(k).',
      '',
      table(
        ['model', ...ks.map(k => `k = ${k}`)],
        curves.map(([model, curve]) => [
          model,
          ...ks.map(k => {
            const point = curve.find(entry => entry.k === k);
            return point ? `${cell(point.ms_median)} (${cell(point.relative)}×)` : '–';
          }),
        ]),
      ),
    );
  }
  const baseline = result.transformers_js;
  if (baseline) {
    const ar = result.summary.find(row => row.strategy === AR);
    parts.push(
      '',
      '## transformers.js vs decodekit AR (greedy, tokens/s of decode)',
      '',
      table(
        ['engine', 'tokens/s (median)', 'same ids'],
        [
          [
            `transformers.js ${baseline.version} (${baseline.max_tokens} tokens × ${baseline.repeats})`,
            cell(baseline.tokens_per_s_median, 0),
            '–',
          ],
          ...(baseline.ours_tokens_per_s_median !== null
            ? [
                [
                  'decodekit AR, same prompt, interleaved',
                  cell(baseline.ours_tokens_per_s_median, 0),
                  baseline.ids_match ? 'yes' : 'no',
                ],
              ]
            : []),
          ...(ar ? [['decodekit AR, this bench', cell(ar.tokens_per_s_median, 0), '–']] : []),
        ],
      ),
    );
  }
  return `${parts.join('\n')}\n`;
}

const WIDTH = 640;
const PANEL_HEIGHT = 320;
const TITLE_HEIGHT = 28;

/**
 * One standalone SVG drawn with Observable Plot (rendered through linkedom's document, no browser): bars of
 * the median speedup per strategy (a rule at 1× = AR), then, when the result has cost curves, the relative
 * cost of a k-token forward per model on log-2 k.
 */
export function renderSvg(result: BenchResult): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const panels: { title: string; svg: Element }[] = [];
  const speedups = result.summary.map(row => ({
    strategy: row.strategy,
    speedup: round(row.speedup_median, 3),
  }));
  panels.push({
    title: `Median speedup over AR — ${result.meta.model} (${result.meta.backend})`,
    svg: Plot.plot({
      document,
      width: WIDTH,
      height: PANEL_HEIGHT,
      marginLeft: 50,
      marginBottom: 60,
      x: {
        label: null,
        domain: speedups.map(row => row.strategy),
        tickRotate: speedups.length > 5 ? -25 : 0,
      },
      y: {
        label: 'speedup (×)',
        grid: true,
        domain: [
          0,
          Math.max(1.2, ...speedups.map(row => (Number.isFinite(row.speedup) ? row.speedup : 0))) *
            1.1,
        ],
      },
      marks: [
        Plot.barY(speedups, { x: 'strategy', y: 'speedup', fill: 'steelblue' }),
        Plot.text(speedups, {
          x: 'strategy',
          y: 'speedup',
          text: (row: { speedup: number }) => `${row.speedup.toFixed(2)}×`,
          dy: -8,
        }),
        Plot.ruleY([1], { stroke: 'black', strokeDasharray: '4,3' }),
      ],
    }) as unknown as Element,
  });
  const points = Object.entries(result.cost_curve ?? {}).flatMap(([model, curve]) =>
    curve.map(point => ({ model, k: point.k, relative: point.relative })),
  );
  if (points.length > 0) {
    panels.push({
      title: 'Cost of one forward of k tokens, relative to k = 1',
      svg: Plot.plot({
        document,
        width: WIDTH,
        height: PANEL_HEIGHT,
        marginLeft: 50,
        x: { type: 'log', base: 2, label: 'k (tokens in one forward)' },
        y: { label: 'relative cost', grid: true, zero: true },
        color: { legend: false },
        marks: [
          Plot.line(points, { x: 'k', y: 'relative', stroke: 'model', marker: 'circle' }),
          Plot.text(
            points,
            Plot.selectLast({
              x: 'k',
              y: 'relative',
              z: 'model',
              text: 'model',
              fill: 'model',
              dx: -6,
              dy: -10,
              textAnchor: 'end',
            }),
          ),
          Plot.ruleY([1], { stroke: 'black', strokeDasharray: '4,3' }),
        ],
      }) as unknown as Element,
    });
  }

  const height = panels.length * (TITLE_HEIGHT + PANEL_HEIGHT);
  const body = panels
    .map(({ title, svg }, index) => {
      const top = index * (TITLE_HEIGHT + PANEL_HEIGHT);
      svg.setAttribute('x', '0');
      svg.setAttribute('y', String(top + TITLE_HEIGHT));
      return (
        `<text x="10" y="${top + 19}" font-family="system-ui, sans-serif" font-size="14" font-weight="bold">${escapeXml(title)}</text>\n` +
        svg.outerHTML
      );
    })
    .join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`
  );
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, char => `&#${char.charCodeAt(0)};`);
}
