import { vi } from 'vitest';

/** A file the app handed to the browser's download: its name, the URL the link pointed at, and its content. */
export interface CaughtDownload {
  readonly name: string;
  readonly href: string;
  readonly blob: Blob;
}

/**
 * Catches the app's downloads (`src/ui/download.ts`: a blob URL on a clicked link), which happy-dom would
 * otherwise navigate to. Call before the click; restored by `vi.restoreAllMocks()`.
 */
export function catchDownloads(): CaughtDownload[] {
  const files: CaughtDownload[] = [];
  let blob: Blob | undefined;
  vi.spyOn(URL, 'createObjectURL').mockImplementation((given) => {
    blob = given as Blob;
    return 'blob:outpost-test';
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    if (blob) files.push({ name: this.download, href: this.href, blob });
  });
  return files;
}
