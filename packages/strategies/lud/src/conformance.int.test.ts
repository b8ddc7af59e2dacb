import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance } from '@decodekit/conformance';
import { LUD_PLACEHOLDER_TOKEN_ID, ludModelFolder } from '../scripts/lud-model.js';
import { lud } from './index.js';

// With a threshold above 1 LUD accepts no placeholder prediction: it must equal autoregressive decoding of
// the same model exactly, greedy and sampled. The real-model checks run on the committed LUD-fine-tuned
// stories260K (weights/stories260K-lud.bin), the model LUD is meant for.
runStrategyConformance({
  name: 'lud (threshold 1.01, LUD-tuned stories260K)',
  strategy: () =>
    lud({ threshold: 1.01, placeholders: 3, placeholderTokenId: LUD_PLACEHOLDER_TOKEN_ID }),
  referenceModel: () => loadModel(ludModelFolder()),
});
