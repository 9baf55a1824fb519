/**
 * Hands a file to the browser's download, named with the moment it was made (`outpost-backup-2026-…json`).
 * Resolves once the download started; the file's URL is kept a while after, for slow disks.
 */
export function downloadFile(blob: Blob, prefix: string, at: number): string {
  const name = `${prefix}-${new Date(at).toISOString().replace(/[:.]/g, '-')}.json`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
