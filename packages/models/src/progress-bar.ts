import cliProgress from 'cli-progress';
import type { DownloadProgress } from './download-file.js';

/**
 * A download progress reporter drawing a cli-progress bar on stderr (drawn only when stderr is a TTY).
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
    if (current !== progress.url) {
      stop();
      current = progress.url;
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `Downloading ${progress.file} [{bar}] {percentage}% | {value}/{total} bytes`,
          hideCursor: false,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(progress.total ?? 0, 0);
    }
    if (progress.total !== undefined) bar!.setTotal(progress.total);
    bar!.update(progress.received);
    if (progress.done) stop();
  };
  return { onProgress, stop };
}
