import cliProgress from 'cli-progress';
import type { DownloadProgress } from './download-file.js';

/**
 * A download progress reporter drawing a cli-progress bar on stderr (drawn only when stderr is a TTY): one
 * bar per file, or one for a whole hub model (progress with `model` set).
 * Returns the callback and a `stop` to call when all downloads are over.
 */
export function stderrProgressBar(): {
  onProgress: (progress: DownloadProgress) => void;
  stop: () => void;
} {
  let bar: cliProgress.SingleBar | undefined;
  let current: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
    current = undefined;
  };
  const onProgress = (progress: DownloadProgress) => {
    const key = progress.model ?? progress.url;
    if (current !== key) {
      stop();
      current = key;
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: progress.model
            ? `Downloading ${progress.model} [{bar}] {percentage}% | {value}/{total} bytes | {file}`
            : `Downloading ${progress.file} [{bar}] {percentage}% | {value}/{total} bytes`,
          hideCursor: false,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(progress.total ?? 0, 0, { file: progress.file });
    }
    if (progress.total !== undefined) bar?.setTotal(progress.total);
    bar?.update(progress.received, { file: progress.file });
    if (progress.done) stop();
  };
  return { onProgress, stop };
}
