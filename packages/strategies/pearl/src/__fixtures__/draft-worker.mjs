// Worker thread hosting a draft model for measure.int.test.ts: its forwards run on this thread, so they
// overlap the target's forwards on the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '@decodekit/backend-onnx';

const model = await loadModel(workerData.model);
const sequences = new Map();
parentPort.on('message', async message => {
  const { op, seq } = message;
  try {
    if (op === 'create') sequences.set(seq, model.createSequence());
    else if (op === 'commit') sequences.get(seq).commit(message.rows);
    else if (op === 'truncate') sequences.get(seq).truncate(message.length);
    else if (op === 'dispose') {
      sequences.get(seq)?.dispose();
      sequences.delete(seq);
    } else if (op === 'forward') {
      const { logits, hidden } = await sequences
        .get(seq)
        .forward({ tokens: message.tokens, hidden: message.hidden });
      parentPort.postMessage({ id: message.id, logits, hidden });
    }
  } catch (error) {
    if (message.id !== undefined) parentPort.postMessage({ id: message.id, error: String(error) });
  }
});
parentPort.postMessage({ ready: true, info: model.info, capabilities: model.capabilities });
