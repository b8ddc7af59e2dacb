import { h, svg } from './dom';

/** One racer: its label, when each token arrived (ms since its run began) and its decode speed. */
export interface Racer {
  /** Short label for the bars ("A"). */
  readonly label: string;
  /** Longer label for the chart legend ("A · Token Recycling"). */
  readonly name: string;
  readonly times: readonly number[];
  readonly tokensPerSecond: number;
  readonly className: string;
}

const width = 560;
const height = 220;
const margin = { left: 44, right: 16, top: 14, bottom: 34 };

/**
 * The speedup chart: tokens generated over time for both sides on one plot (the steeper line wins), and
 * the speedup of A over B (the baseline) in decode tokens per second.
 */
export function raceChart(a: Racer, b: Racer): HTMLElement {
  const maxTime = Math.max(1, ...a.times, ...b.times);
  const maxTokens = Math.max(1, a.times.length, b.times.length);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const px = (time: number): number => margin.left + (time / maxTime) * plotWidth;
  const py = (count: number): number => margin.top + plotHeight - (count / maxTokens) * plotHeight;

  const line = (racer: Racer): SVGElement => {
    let d = `M${px(0)},${py(0)}`;
    racer.times.forEach((time, index) => {
      d += ` L${px(time)},${py(index)} L${px(time)},${py(index + 1)}`;
    });
    return svg('path', { class: `race-line ${racer.className}`, d });
  };
  // A legend in the top-left corner, which the rising lines leave empty.
  const legend = (racer: Racer, index: number): SVGElement => {
    const y = margin.top + 12 + index * 16;
    return svg(
      'g',
      { class: 'legend-item' },
      svg('line', {
        class: `race-line ${racer.className}`,
        x1: margin.left + 10,
        x2: margin.left + 28,
        y1: y - 4,
        y2: y - 4,
      }),
      svg('text', { class: `line-label ${racer.className}`, x: margin.left + 34, y }, racer.name),
    );
  };

  const ticks: SVGElement[] = [];
  for (let i = 0; i <= 4; i++) {
    const time = (maxTime * i) / 4;
    const tokens = Math.round((maxTokens * i) / 4);
    ticks.push(
      svg('line', {
        class: 'grid-line',
        x1: px(time),
        x2: px(time),
        y1: margin.top,
        y2: margin.top + plotHeight,
      }),
      svg(
        'text',
        { class: 'tick', x: px(time), y: height - margin.bottom + 14, 'text-anchor': 'middle' },
        `${Math.round(time)}`,
      ),
      svg('line', {
        class: 'grid-line',
        x1: margin.left,
        x2: margin.left + plotWidth,
        y1: py(tokens),
        y2: py(tokens),
      }),
      svg(
        'text',
        { class: 'tick', x: margin.left - 6, y: py(tokens) + 4, 'text-anchor': 'end' },
        `${tokens}`,
      ),
    );
  }

  const speedup = b.tokensPerSecond > 0 ? a.tokensPerSecond / b.tokensPerSecond : 0;
  const maxRate = Math.max(a.tokensPerSecond, b.tokensPerSecond, 1);
  const bar = (racer: Racer): HTMLElement => {
    const fill = h('span', { class: `bar-fill ${racer.className}` });
    fill.style.width = `${(racer.tokensPerSecond / maxRate) * 100}%`;
    return h(
      'div',
      { class: 'bar-row' },
      h('span', { class: 'bar-label' }, racer.label),
      h('span', { class: 'bar-track' }, fill),
      h('span', { class: 'bar-value' }, `${racer.tokensPerSecond.toFixed(0)} tok/s`),
    );
  };

  return h(
    'div',
    { class: 'race-chart', 'data-testid': 'race-chart' },
    h(
      'p',
      { class: 'speedup', 'data-testid': 'speedup' },
      speedup <= 0
        ? 'No speed measured'
        : speedup >= 1
          ? `Speedup of A over B: ${speedup.toFixed(2)}× (decode tokens per second)`
          : `A runs at ${speedup.toFixed(2)}× the speed of B: slower (decode tokens per second)`,
    ),
    h('div', { class: 'bars' }, bar(a), bar(b)),
    svg(
      'svg',
      {
        class: 'chart',
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': 'tokens over time for A and B',
      },
      ...ticks,
      svg('line', {
        class: 'axis',
        x1: margin.left,
        x2: margin.left,
        y1: margin.top,
        y2: margin.top + plotHeight,
      }),
      svg('line', {
        class: 'axis',
        x1: margin.left,
        x2: margin.left + plotWidth,
        y1: margin.top + plotHeight,
        y2: margin.top + plotHeight,
      }),
      line(a),
      line(b),
      legend(a, 0),
      legend(b, 1),
      svg(
        'text',
        {
          class: 'axis-label',
          x: margin.left + plotWidth / 2,
          y: height - 4,
          'text-anchor': 'middle',
        },
        'ms since the run began',
      ),
      svg(
        'text',
        {
          class: 'axis-label',
          x: 12,
          y: margin.top + plotHeight / 2,
          transform: `rotate(-90 12 ${margin.top + plotHeight / 2})`,
          'text-anchor': 'middle',
        },
        'tokens',
      ),
    ),
  );
}
