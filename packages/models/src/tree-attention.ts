import { ModelFormatError } from '@decodekit/core';
import onnxProto from 'onnx-proto';
import { ElemType, MS_DOMAIN, decodeModel } from './onnx-writer.js';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;

/** The name of the input a rewritten graph takes (docs/graph-io.md, "decodekit extensions"). */
export const ATTENTION_BIAS_INPUT = 'attention_bias';

/** What {@link addTreeAttention} changed in a graph. */
export interface TreeAttentionReport {
  /** com.microsoft MultiHeadAttention nodes whose `attention_bias` input now reads the tree bias. */
  readonly multiHeadAttention: number;
  /** com.microsoft GroupQueryAttention nodes given the tree bias as their `attention_bias` input. */
  readonly groupQueryAttention: number;
  /** Decomposed attentions (`Softmax(QKᵀ + mask)`) whose mask now is the tree bias. */
  readonly softmaxMasks: number;
  /** Masking `Where` nodes on the scores (GPT-2's causal `where(causal, scores, min)`) bypassed. */
  readonly bypassedWheres: number;
  /** Nodes left without consumers after the rewrite (the old mask's construction) and removed. */
  readonly removedNodes: number;
}

/** The result of {@link addTreeAttention}. */
export interface TreeAttentionResult {
  /** The rewritten ModelProto. External data references are kept as they are (same file names). */
  readonly onnx: Uint8Array;
  readonly report: TreeAttentionReport;
}

/** Options of {@link addTreeAttention}. */
export interface TreeAttentionOptions {
  /** The graph's path, for error messages (default `model.onnx`). */
  readonly path?: string;
}

/** Operators whose output carries attention scores when an input does (QKᵀ and projections). */
const MATMULS = new Set(['MatMul', 'MatMulInteger', 'MatMulNBits', 'Gemm', 'FusedMatMul']);
/** Operators that read only their input's shape: a causal mask sized from the keys is no score. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);
/** Elementwise operators a mask or scores pass through on the way to the Softmax. */
const SCORE_PASSES = new Set([
  'Cast',
  'Max',
  'Min',
  'Clip',
  'Div',
  'Mul',
  'Sub',
  'Identity',
  'Tanh',
  'Reshape',
]);
/** Operators whose output element type is that of their first input. */
const SAME_TYPE = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Max',
  'Min',
  'Neg',
  'Abs',
  'Clip',
  'Expand',
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Tile',
  'Slice',
  'Transpose',
  'Gather',
  'Concat',
  'Identity',
  'Softmax',
  'MatMul',
  'RotaryEmbedding',
  'SimplifiedLayerNormalization',
  'LayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'SkipLayerNormalization',
  'MatMulNBits',
  'Split',
]);
/** Largest finite float16: float16 masks use -65504 for "masked" (as every fp16 export does). */
const FLOAT16_LOWEST = -65504;

/** Every node of `graph` and of the subgraphs of its `If`/`Loop`/`Scan` nodes. */
function allNodes(graph: Graph): Node[] {
  const nodes: Node[] = [];
  const visit = (current: Graph) => {
    for (const node of current.node ?? []) {
      nodes.push(node);
      for (const attribute of node.attribute ?? []) {
        if (attribute.g) visit(attribute.g);
        for (const sub of attribute.graphs ?? []) visit(sub);
      }
    }
  };
  visit(graph);
  return nodes;
}

/** Names a subgraph reads from the scopes around it (outer-scope values). */
function outerReferences(graph: Graph): Set<string> {
  const produced = new Set<string>([
    ...(graph.input ?? []).map(value => value.name ?? ''),
    ...(graph.initializer ?? []).map(tensor => tensor.name ?? ''),
  ]);
  const read = new Set<string>();
  for (const node of graph.node ?? []) {
    for (const name of node.input ?? []) if (name && !produced.has(name)) read.add(name);
    for (const attribute of node.attribute ?? []) {
      const subs = [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])];
      for (const sub of subs)
        for (const name of outerReferences(sub)) if (!produced.has(name)) read.add(name);
    }
    for (const name of node.output ?? []) if (name) produced.add(name);
  }
  return read;
}

/** Everything a node reads: its inputs and what its subgraphs read from outside. */
function readsOf(node: Node): string[] {
  const names = (node.input ?? []).filter(name => name !== '');
  for (const attribute of node.attribute ?? []) {
    const subs = [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])];
    for (const sub of subs) names.push(...outerReferences(sub));
  }
  return names;
}

/** The graph's producers, types and ancestry queries. */
class GraphIndex {
  readonly producers = new Map<string, Node>();
  private readonly types = new Map<string, number>();
  private readonly matmulMemo = new Map<string, boolean>();
  private readonly maskMemo = new Map<string, boolean>();

  constructor(readonly graph: Graph) {
    for (const node of allNodes(graph))
      for (const name of node.output ?? []) if (name) this.producers.set(name, node);
    const declare = (values: onnxProto.onnx.IValueInfoProto[] | null | undefined) => {
      for (const value of values ?? []) {
        const elemType = value.type?.tensorType?.elemType;
        if (value.name && elemType) this.types.set(value.name, elemType);
      }
    };
    declare(graph.input);
    declare(graph.output);
    declare(graph.valueInfo);
    for (const tensor of graph.initializer ?? [])
      if (tensor.name && tensor.dataType) this.types.set(tensor.name, tensor.dataType);
  }

  /** True when `name` is computed from a matrix product (attention scores are, masks are not). */
  fromMatMul(name: string): boolean {
    return this.ancestry(
      name,
      this.matmulMemo,
      node => MATMULS.has(node.opType ?? ''),
      node => SHAPE_ONLY.has(node.opType ?? ''),
    );
  }

  /** True when `name` is computed from the `attention_mask` input. */
  fromAttentionMask(name: string): boolean {
    if (name === 'attention_mask') return true;
    return this.ancestry(
      name,
      this.maskMemo,
      node => readsOf(node).includes('attention_mask'),
      () => false,
    );
  }

  /** True when a node that `hit` accepts makes `name`, not looking past nodes that `cut` accepts. */
  private ancestry(
    name: string,
    memo: Map<string, boolean>,
    hit: (node: Node) => boolean,
    cut: (node: Node) => boolean,
  ): boolean {
    const known = memo.get(name);
    if (known !== undefined) return known;
    // Iterative depth-first search: exported graphs are deep enough to overflow a recursive one.
    const stack: Array<{ name: string; expanded: boolean }> = [{ name, expanded: false }];
    const pending = new Set<string>();
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (memo.has(top.name)) {
        stack.pop();
        continue;
      }
      const node = this.producers.get(top.name);
      if (node === undefined || cut(node)) {
        memo.set(top.name, false);
        stack.pop();
        continue;
      }
      if (hit(node)) {
        memo.set(top.name, true);
        stack.pop();
        continue;
      }
      const inputs = readsOf(node);
      if (!top.expanded) {
        top.expanded = true;
        pending.add(top.name);
        for (const input of inputs)
          if (!memo.has(input) && !pending.has(input)) stack.push({ name: input, expanded: false });
        continue;
      }
      memo.set(
        top.name,
        inputs.some(input => memo.get(input) === true),
      );
      pending.delete(top.name);
      stack.pop();
    }
    return memo.get(name) ?? false;
  }

  /** The element type of `name`, from declarations or the operator that makes it. */
  elemType(name: string): number | undefined {
    const seen = new Set<string>();
    let current = name;
    for (;;) {
      const declared = this.types.get(current);
      if (declared !== undefined) return declared;
      if (seen.has(current)) return undefined;
      seen.add(current);
      const node = this.producers.get(current);
      if (node === undefined) return undefined;
      const op = node.opType ?? '';
      const attribute = (attributeName: string) =>
        (node.attribute ?? []).find(entry => entry.name === attributeName);
      if (op === 'Cast') return Number(attribute('to')?.i ?? 0) || undefined;
      if (op === 'Constant' || op === 'ConstantOfShape') {
        const value = attribute('value')?.t;
        return value?.dataType ?? (op === 'ConstantOfShape' ? ElemType.float : undefined);
      }
      if (op === 'Where') {
        current = node.input?.[1] ?? '';
        continue;
      }
      if (
        op === 'MultiHeadAttention' ||
        op === 'GroupQueryAttention' ||
        op === 'Attention' ||
        SAME_TYPE.has(op)
      ) {
        current = node.input?.[0] ?? '';
        continue;
      }
      return undefined;
    }
  }
}

/**
 * Adds decodekit's `attention_bias` input (float32 [1, 1, n, past + n], 0 = attend, -1e9 = masked;
 * docs/graph-io.md) to a standard decoder export whose causal mask is built from `attention_mask`, so that one
 * forward verifies a whole token tree. The bias replaces the mask where attention reads it:
 * - com.microsoft `MultiHeadAttention` (onnxruntime-genai's model builder): its `attention_bias` input
 *   (index 5); a `key_padding_mask` (index 4) is dropped, since the bias carries the padding too;
 * - com.microsoft `GroupQueryAttention`: the bias as its `attention_bias` input (index 10). The operator
 *   still applies its own causal mask, which contains every tree mask because drafts list parents before
 *   children. When it rotates Q and K itself (`do_rotary`), `position_ids` becomes its `position_ids` input
 *   (index 9), since it would otherwise rotate tree rows by row index instead of depth;
 * - decomposed attention, `Softmax(QKᵀ·scale + mask)` (optimum / transformers.js exports, decodekit's own
 *   plain graphs): the additive mask operand computed from `attention_mask` becomes the bias, and a
 *   `Where(causal, scores, lowest)` on the scores (GPT-2's eager attention) is bypassed.
 * float16 masks get the bias clamped to -65504 and cast, as float16 exports write their masks. The nodes
 * that built the old mask are removed. Weights are not touched: initializers stored as external data keep
 * their file names, so the rewritten graph is written beside the same data files.
 *
 * @throws ModelFormatError when the graph has no `position_ids` (positions of tree rows are their depths),
 *   already has `attention_bias`, or no attention mask pattern is found (the message names the patterns).
 */
export function addTreeAttention(
  onnx: Uint8Array,
  { path = 'model.onnx' }: TreeAttentionOptions = {},
): TreeAttentionResult {
  const model = decodeModel(onnx);
  const graph = model.graph;
  if (!graph) throw new ModelFormatError({ path, message: 'holds no graph.' });
  const inputNames = new Set((graph.input ?? []).map(value => value.name));
  if (inputNames.has(ATTENTION_BIAS_INPUT)) {
    throw new ModelFormatError({
      path,
      message: 'already has an attention_bias input (tree attention); use the folder as it is.',
    });
  }
  if (!inputNames.has('position_ids')) {
    throw new ModelFormatError({
      path,
      message:
        'has no position_ids input: tree rows sit at their depth, which such a graph cannot be told. Re-export the model with position_ids.',
    });
  }
  const index = new GraphIndex(graph);
  const added: Node[] = [];
  const biasFor = new Map<number, string>();
  let counter = 0;
  /** The tree bias in `elemType` (float32 as fed, float16 clamped and cast). */
  const bias = (elemType: number | undefined, near: string): string => {
    if (elemType === undefined) {
      throw new ModelFormatError({
        path,
        message: `cannot tell the element type of "${near}", where the tree bias must go. Supported: float32 and float16 masks.`,
      });
    }
    if (elemType === ElemType.float) return ATTENTION_BIAS_INPUT;
    if (elemType !== ElemType.float16) {
      throw new ModelFormatError({
        path,
        message: `the attention mask "${near}" has element type ${elemType}; tree attention supports float32 and float16 masks.`,
      });
    }
    const existing = biasFor.get(elemType);
    if (existing !== undefined) return existing;
    const lowest = `/decodekit/tree_bias/lowest`;
    const clamped = `/decodekit/tree_bias/clamped`;
    const cast = `/decodekit/tree_bias/float16`;
    graph.initializer = [
      ...(graph.initializer ?? []),
      {
        name: lowest,
        dims: [],
        dataType: ElemType.float,
        rawData: new Uint8Array(Float32Array.of(FLOAT16_LOWEST).buffer),
      },
    ];
    added.push(
      { opType: 'Max', input: [ATTENTION_BIAS_INPUT, lowest], output: [clamped], name: clamped },
      {
        opType: 'Cast',
        input: [clamped],
        output: [cast],
        name: cast,
        attribute: [{ name: 'to', type: 2, i: ElemType.float16 }],
      },
    );
    biasFor.set(elemType, cast);
    return cast;
  };

  let multiHeadAttention = 0;
  let groupQueryAttention = 0;
  let softmaxMasks = 0;
  let bypassedWheres = 0;
  for (const node of allNodes(graph)) {
    const op = node.opType ?? '';
    const inputs = [...(node.input ?? [])];
    if (node.domain === MS_DOMAIN && op === 'MultiHeadAttention') {
      const current = inputs[5] ?? '';
      const elemType = index.elemType(current || inputs[0]);
      while (inputs.length < 6) inputs.push('');
      inputs[4] = ''; // key_padding_mask: the bias masks padding as well
      inputs[5] = bias(elemType, current || inputs[0]);
      node.input = inputs;
      multiHeadAttention++;
    } else if (node.domain === MS_DOMAIN && op === 'GroupQueryAttention') {
      if ((inputs[10] ?? '') !== '') {
        throw new ModelFormatError({
          path,
          message: `GroupQueryAttention "${node.name ?? ''}" already takes an attention_bias; this graph is not a standard export.`,
        });
      }
      while (inputs.length < 11) inputs.push('');
      inputs[10] = bias(index.elemType(inputs[0]), inputs[0]);
      const rotary = (node.attribute ?? []).find(entry => entry.name === 'do_rotary');
      if (Number(rotary?.i ?? 0) === 1 && inputs[9] === '') {
        // The operator rotates Q and K by row index unless given positions; tree rows sit at their depth.
        inputs[9] = 'position_ids';
      }
      node.input = inputs;
      groupQueryAttention++;
    } else if (op === 'Softmax' && index.fromMatMul(inputs[0] ?? '')) {
      const rewritten = rewriteSoftmaxMask(index, node, bias, added, () => counter++);
      softmaxMasks += rewritten.masks;
      bypassedWheres += rewritten.wheres;
    }
  }
  if (multiHeadAttention + groupQueryAttention + softmaxMasks === 0) {
    throw new ModelFormatError({
      path,
      message:
        'found no attention mask to replace. Tree attention rewrites com.microsoft MultiHeadAttention and GroupQueryAttention nodes and decomposed attention, Softmax(QK^T + mask) with the mask built from attention_mask (optimum / transformers.js Llama-style exports).',
    });
  }
  graph.node = [...added, ...(graph.node ?? [])];
  graph.input = [
    ...(graph.input ?? []),
    {
      name: ATTENTION_BIAS_INPUT,
      type: {
        tensorType: {
          elemType: ElemType.float,
          shape: {
            dim: [
              { dimValue: 1 },
              { dimValue: 1 },
              { dimParam: 'sequence_length' },
              { dimParam: 'total_sequence_length' },
            ],
          },
        },
      },
    },
  ];
  const removedNodes = pruneDeadNodes(graph);
  // The attention must not read attention_mask any more (GroupQueryAttention's lengths may).
  const check = new GraphIndex(graph);
  for (const node of allNodes(graph)) {
    if (node.opType === 'Softmax' && check.fromAttentionMask(node.input?.[0] ?? '')) {
      throw new ModelFormatError({
        path,
        message: `the scores of Softmax "${node.name ?? ''}" still depend on attention_mask after the rewrite: this mask pattern is not supported.`,
      });
    }
  }
  const metadata = (model.metadataProps ?? []).filter(
    entry => entry.key !== 'decodekit.tree_attention',
  );
  metadata.push({ key: 'decodekit.tree_attention', value: 'attention_bias' });
  model.metadataProps = metadata;
  return {
    onnx: onnxProto.onnx.ModelProto.encode(model).finish(),
    report: { multiHeadAttention, groupQueryAttention, softmaxMasks, bypassedWheres, removedNodes },
  };
}

/**
 * Walks back from a Softmax along the scores (the operand computed from a MatMul) to the QKᵀ product. An
 * `Add` whose other operand comes from `attention_mask` is the mask: it reads the tree bias instead. A `Where`
 * whose condition does not come from a MatMul is a masking select: its consumer reads the scores directly.
 * When only such selects are found, the first one becomes `Add(scores, bias)`.
 */
function rewriteSoftmaxMask(
  index: GraphIndex,
  softmax: Node,
  bias: (elemType: number | undefined, near: string) => string,
  added: Node[],
  nextId: () => number,
): { masks: number; wheres: number } {
  let consumer = softmax;
  let slot = 0;
  let masks = 0;
  let wheres = 0;
  let firstWhere: { consumer: Node; slot: number; scores: string } | undefined;
  for (let guard = 0; guard < 64; guard++) {
    const name = consumer.input?.[slot] ?? '';
    const node = index.producers.get(name);
    if (node === undefined) break;
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (MATMULS.has(op)) break;
    if (op === 'Add' && inputs.length === 2) {
      const scoresSlot = index.fromMatMul(inputs[0]) ? 0 : 1;
      const maskSlot = 1 - scoresSlot;
      if (!index.fromMatMul(inputs[scoresSlot])) break;
      if (!index.fromMatMul(inputs[maskSlot]) && index.fromAttentionMask(inputs[maskSlot])) {
        const replaced = [...inputs];
        replaced[maskSlot] = bias(index.elemType(inputs[maskSlot]), inputs[maskSlot]);
        node.input = replaced;
        masks++;
      }
      consumer = node;
      slot = scoresSlot;
      continue;
    }
    if (op === 'Where' && inputs.length === 3) {
      const scoresSlot = index.fromMatMul(inputs[1]) ? 1 : 2;
      const fillSlot = scoresSlot === 1 ? 2 : 1;
      if (
        index.fromMatMul(inputs[scoresSlot]) &&
        !index.fromMatMul(inputs[0]) &&
        !index.fromMatMul(inputs[fillSlot])
      ) {
        const replaced = [...(consumer.input ?? [])];
        replaced[slot] = inputs[scoresSlot];
        consumer.input = replaced;
        firstWhere ??= { consumer, slot, scores: inputs[scoresSlot] };
        wheres++;
        // The consumer now reads the Where's scores operand; keep walking from it.
        continue;
      }
      break;
    }
    if (SCORE_PASSES.has(op) && inputs.length >= 1) {
      const scoresSlot = inputs.findIndex(input => input !== '' && index.fromMatMul(input));
      if (scoresSlot < 0) break;
      consumer = node;
      slot = scoresSlot;
      continue;
    }
    break;
  }
  if (masks === 0 && firstWhere !== undefined) {
    // Only a select masked the scores: add the bias where it was.
    const output = `/decodekit/tree_bias/add_${nextId()}`;
    added.push({
      opType: 'Add',
      input: [firstWhere.scores, bias(index.elemType(firstWhere.scores), firstWhere.scores)],
      output: [output],
      name: output,
    });
    const replaced = [...(firstWhere.consumer.input ?? [])];
    replaced[firstWhere.slot] = output;
    firstWhere.consumer.input = replaced;
    masks++;
  }
  return { masks, wheres };
}

/** Removes nodes of the main graph whose outputs nothing reads; returns how many. */
function pruneDeadNodes(graph: Graph): number {
  const nodes = graph.node ?? [];
  const needed = new Set((graph.output ?? []).map(value => value.name ?? ''));
  const keep: boolean[] = Array.from({ length: nodes.length }, () => false);
  for (let position = nodes.length - 1; position >= 0; position--) {
    const node = nodes[position];
    if (!(node.output ?? []).some(name => needed.has(name))) continue;
    keep[position] = true;
    for (const name of readsOf(node)) needed.add(name);
  }
  // Nodes are topologically sorted, but the bias nodes were prepended: one more pass settles any order.
  let changed = true;
  while (changed) {
    changed = false;
    for (let position = 0; position < nodes.length; position++) {
      if (keep[position] || !(nodes[position].output ?? []).some(name => needed.has(name)))
        continue;
      keep[position] = true;
      changed = true;
      for (const name of readsOf(nodes[position])) needed.add(name);
    }
  }
  graph.node = nodes.filter((_, position) => keep[position]);
  // An initializer that is also a graph input is an overridable default: it stays.
  const inputs = new Set((graph.input ?? []).map(value => value.name ?? ''));
  graph.initializer = (graph.initializer ?? []).filter(
    tensor => needed.has(tensor.name ?? '') || inputs.has(tensor.name ?? ''),
  );
  return nodes.length - graph.node.length;
}
