import { h, replaceChildren, svg } from './dom';

/** One draft-verify step: the tree proposed after `rootToken`, what was accepted, and the bonus token. */
export interface DraftStep {
  readonly rootToken: number | undefined;
  readonly tokens: Int32Array;
  readonly parents: Int32Array;
  readonly acceptedRows: readonly number[];
  readonly bonusToken: number | undefined;
  /** 1-based number of the verification step in this run. */
  readonly step: number;
}

const columnWidth = 92;
const rowHeight = 24;
const nodeWidth = 78;
const nodeHeight = 18;

/**
 * Draws a draft tree left to right (depth = column): the pending token at the root, each draft row under its
 * parent, the accepted path in green, the bonus token the target added after it in amber, rejected rows grey.
 */
export function renderDraftTree(
  container: HTMLElement,
  step: DraftStep | undefined,
  labels: readonly string[],
): void {
  if (!step) {
    replaceChildren(
      container,
      h(
        'p',
        { class: 'muted' },
        'No draft yet. Speculative strategies show their last draft tree here.',
      ),
    );
    return;
  }
  const rows = step.tokens.length;
  const label = (id: number | undefined): string =>
    id === undefined ? '…' : (labels[id] ?? `#${id}`);
  const children: number[][] = Array.from({ length: rows + 1 }, () => []);
  for (let row = 0; row < rows; row++) children[step.parents[row] + 1].push(row + 1);
  const accepted = new Set(step.acceptedRows.map(row => row + 1));
  const lastAccepted =
    step.acceptedRows.length > 0 ? step.acceptedRows[step.acceptedRows.length - 1] + 1 : 0;

  // Node 0 is the root; node r + 1 is draft row r. Leaves take consecutive lines; parents sit on their first child's line.
  const line: number[] = Array.from({ length: rows + 2 }, () => 0);
  const depth: number[] = Array.from({ length: rows + 2 }, () => 0);
  let nextLine = 0;
  const place = (node: number, level: number): void => {
    depth[node] = level;
    const kids = [...children[node]];
    // Keep the accepted child first so the accepted path reads as a straight line.
    kids.sort((left, right) => Number(accepted.has(right)) - Number(accepted.has(left)));
    if (node === lastAccepted && step.bonusToken !== undefined) kids.unshift(rows + 1);
    if (kids.length === 0) {
      line[node] = nextLine++;
      return;
    }
    kids.forEach((kid, index) => {
      if (kid === rows + 1) {
        depth[kid] = level + 1;
        line[kid] = nextLine++;
      } else place(kid, level + 1);
      if (index === 0) line[node] = line[kid];
    });
  };
  place(0, 0);

  const maxDepth = Math.max(...depth);
  const width = (maxDepth + 1) * columnWidth + 8;
  const height = nextLine * rowHeight + 8;
  const x = (node: number): number => 4 + depth[node] * columnWidth;
  const y = (node: number): number => 4 + line[node] * rowHeight;

  const edges: SVGElement[] = [];
  const nodes: SVGElement[] = [];
  const drawNode = (node: number, text: string, kind: string, title: string): void => {
    nodes.push(
      svg(
        'g',
        { class: `node ${kind}`, transform: `translate(${x(node)},${y(node)})` },
        svg('title', {}, title),
        svg('rect', { width: nodeWidth, height: nodeHeight, rx: 4 }),
        svg('text', { x: 6, y: 13 }, text.length > 11 ? `${text.slice(0, 10)}…` : text),
      ),
    );
  };
  const drawEdge = (from: number, to: number, kind: string): void => {
    const x1 = x(from) + nodeWidth;
    const y1 = y(from) + nodeHeight / 2;
    const x2 = x(to);
    const y2 = y(to) + nodeHeight / 2;
    const bend = (x2 - x1) / 2;
    edges.push(
      svg('path', {
        class: `edge ${kind}`,
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      }),
    );
  };

  drawNode(
    0,
    label(step.rootToken),
    'root',
    `pending token ${step.rootToken ?? ''}: fed with the draft`,
  );
  for (let row = 0; row < rows; row++) {
    const node = row + 1;
    const parent = step.parents[row] + 1;
    const kind = accepted.has(node) ? 'accepted' : 'rejected';
    drawEdge(parent, node, kind);
    drawNode(
      node,
      label(step.tokens[row]),
      kind,
      `row ${row}: token ${step.tokens[row]} (${kind})`,
    );
  }
  if (step.bonusToken !== undefined) {
    drawEdge(lastAccepted, rows + 1, 'bonus');
    drawNode(
      rows + 1,
      label(step.bonusToken),
      'bonus',
      `bonus token ${step.bonusToken}: the target's own choice`,
    );
  }

  replaceChildren(
    container,
    h(
      'p',
      { class: 'tree-caption' },
      `Step ${step.step}: ${rows} draft row${rows === 1 ? '' : 's'}, ${step.acceptedRows.length} accepted` +
        (step.bonusToken !== undefined ? ' + 1 bonus' : ''),
    ),
    svg(
      'svg',
      {
        class: 'tree',
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': 'last draft tree',
      },
      ...edges,
      ...nodes,
    ),
  );
}
