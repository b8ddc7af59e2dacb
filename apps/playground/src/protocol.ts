import type { DecodeEvent } from '@decodekit/core';
import type { BackendChoice, SideConfig } from './config';

/** A model folder served by the app, with its file sizes (from models/index.json) for load progress. */
export interface ModelRef {
  readonly name: string;
  /** Absolute URL of the folder. */
  readonly url: string;
  readonly files: Readonly<Record<string, number>>;
}

/** A model to download from a Hugging Face hub (or a mirror) by id, in the browser. */
export interface HubModelRef {
  /** `org/name` or `org/name@revision` (a branch, tag or commit). */
  readonly id: string;
  /** Graph dtype by transformers.js naming (`fp32`, `fp16`, `q8`, `q4`, `q4f16`, ...). */
  readonly dtype: string;
  /** Hub base URL, e.g. `https://huggingface.co` or a mirror. */
  readonly endpoint: string;
  /** Access token for gated and private repositories (never put in the URL). */
  readonly token?: string;
}

/** What the page learns about a loaded model. */
export interface ModelSummary {
  readonly name: string;
  readonly backendId: string;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly numLayers: number;
  readonly capabilities: Readonly<Record<string, unknown>>;
  /** Display text of every token id (spaces and newlines made visible), for the draft tree. */
  readonly labels: readonly string[];
  readonly loadMs: number;
  /** For a hub model: the commit its revision resolved to and the graph file that was picked. */
  readonly hub?: { readonly commit: string; readonly graph: string };
}

/** Messages from the page to the engine worker. */
export type EngineRequest =
  | {
      readonly type: 'load';
      readonly id: number;
      readonly backend: BackendChoice;
      readonly model: ModelRef;
    }
  | {
      /** Downloads (or reads from Cache Storage) a hub model and loads it; `abort` with the same id cancels. */
      readonly type: 'load-hub';
      readonly id: number;
      readonly backend: BackendChoice;
      readonly model: HubModelRef;
    }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly prompt: string;
      readonly maxTokens: number;
      readonly side: SideConfig;
      /** Needed by the draft-model strategy; loaded on first use. */
      readonly draftModel: ModelRef;
    }
  /** Stops a run or cancels a hub download. */
  | { readonly type: 'abort'; readonly id: number };

/** A decode event as posted by the worker (`qDistributions` dropped), with its time since the run began. */
export interface TimedEvent {
  readonly t: number;
  readonly event: DecodeEvent;
}

/** Messages from the engine worker to the page. */
export type EngineResponse =
  | {
      readonly type: 'progress';
      readonly id: number;
      readonly phase: string;
      readonly loaded: number;
      readonly total: number;
    }
  | { readonly type: 'loaded'; readonly id: number; readonly model: ModelSummary }
  | { readonly type: 'events'; readonly id: number; readonly events: readonly TimedEvent[] }
  | { readonly type: 'finished'; readonly id: number }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly name: string;
      readonly message: string;
    };
