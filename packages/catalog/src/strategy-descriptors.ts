import { autoregressive, type StrategyDescriptor } from '@decodekit/core';
import { adedDescriptor } from '@decodekit/strategy-aded';
import { beamSearchDescriptor } from '@decodekit/strategy-beam-search';
import { contrastiveDecodingDescriptor } from '@decodekit/strategy-contrastive-decoding';
import { copyspecDescriptor } from '@decodekit/strategy-copyspec';
import { diverseBeamSearchDescriptor } from '@decodekit/strategy-diverse-beam-search';
import { draftModelDescriptor } from '@decodekit/strategy-draft-model';
import { fastdraftDescriptor } from '@decodekit/strategy-fastdraft';
import { dyspecDescriptor } from '@decodekit/strategy-dyspec';
import { lookaheadDescriptor } from '@decodekit/strategy-lookahead';
import { ludDescriptor } from '@decodekit/strategy-lud';
import { momentumDecodingDescriptor } from '@decodekit/strategy-momentum-decoding';
import { hyperfittingDescriptor } from '@decodekit/strategy-hyperfitting';
import { onlineSdDescriptor } from '@decodekit/strategy-online-sd';
import { pearlDescriptor } from '@decodekit/strategy-pearl';
import { promptLookupDescriptor } from '@decodekit/strategy-prompt-lookup';
import { rsdDescriptor } from '@decodekit/strategy-rsd';
import { s2dDescriptor } from '@decodekit/strategy-s2d';
import { specdecPPDescriptor } from '@decodekit/strategy-specdec-pp';
import { spectrDescriptor } from '@decodekit/strategy-spectr';
import { superposedDecodingDescriptor } from '@decodekit/strategy-superposed-decoding';
import { swiftDescriptor } from '@decodekit/strategy-swift';
import { tokenRecyclingDescriptor } from '@decodekit/strategy-token-recycling';
import { chimeraDescriptor } from '@decodekit/strategy-chimera';
import { eagleDescriptor } from '@decodekit/strategy-eagle';
import { falconDescriptor } from '@decodekit/strategy-falcon';
import { fspadDescriptor } from '@decodekit/strategy-fspad';
import { hiddenTransferDescriptor } from '@decodekit/strategy-hidden-transfer';
import { medusaDescriptor } from '@decodekit/strategy-medusa';
import { ppdDescriptor } from '@decodekit/strategy-ppd';

/** Core's autoregressive decoding (the baseline) as a descriptor: `ar`, alias `autoregressive` and `greedy`. */
export const autoregressiveDescriptor: StrategyDescriptor = {
  id: 'ar',
  aliases: ['autoregressive', 'greedy'],
  packageName: '@decodekit/core',
  description: 'autoregressive decoding (the baseline)',
  returns: 'strategy',
  lossless: true,
  options: {},
  create: () => ({ strategy: autoregressive() }),
};

/**
 * The strategy catalogue: every browser-safe strategy package's descriptor, in the order help texts list
 * them. The CLI, the OpenAI server, the AI SDK provider and the playground are generated from it, so adding
 * a strategy adds one line here (see docs/architecture.md, "Adding a strategy").
 *
 * NOTE: EasySpec is not here: its descriptor reads the draft's llama2.c checkpoint from disk, so the CLI adds
 * it to its own list.
 */
export const STRATEGY_DESCRIPTORS: readonly StrategyDescriptor[] = [
  autoregressiveDescriptor,
  promptLookupDescriptor,
  tokenRecyclingDescriptor,
  medusaDescriptor,
  ppdDescriptor,
  eagleDescriptor,
  chimeraDescriptor,
  fspadDescriptor,
  falconDescriptor,
  hiddenTransferDescriptor,
  draftModelDescriptor,
  fastdraftDescriptor,
  spectrDescriptor,
  rsdDescriptor,
  dyspecDescriptor,
  copyspecDescriptor,
  lookaheadDescriptor,
  adedDescriptor,
  swiftDescriptor,
  ludDescriptor,
  specdecPPDescriptor,
  pearlDescriptor,
  onlineSdDescriptor,
  s2dDescriptor,
  beamSearchDescriptor,
  diverseBeamSearchDescriptor,
  momentumDecodingDescriptor,
  hyperfittingDescriptor,
  superposedDecodingDescriptor,
  contrastiveDecodingDescriptor,
];
