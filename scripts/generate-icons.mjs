// Writes the PWA icons into public/icons with zlib alone, so the project needs no image tooling.
// Run: node scripts/generate-icons.mjs (the PNGs are committed; rerun only to change the design).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const THEME = [0x0f, 0x4c, 0x81];
const MARK = [0xff, 0xff, 0xff];
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buffer) => {
  let c = 0xffffffff;
  for (const byte of buffer) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
};

/**
 * A ring ("O" for Outpost) on the theme colour. `markScale` shrinks the ring so a maskable icon keeps it
 * inside the 80% safe zone; `rounded` cuts transparent corners for the plain icon.
 */
function icon(size, { markScale, rounded }) {
  const rows = [];
  const centre = (size - 1) / 2;
  const outer = (size / 2) * 0.62 * markScale;
  const inner = outer * 0.58;
  const corner = size * 0.18;
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x += 1) {
      const d = Math.hypot(x - centre, y - centre);
      const inRing = d <= outer && d >= inner;
      const cx = Math.min(Math.max(x, corner), size - 1 - corner);
      const cy = Math.min(Math.max(y, corner), size - 1 - corner);
      const outside = rounded && Math.hypot(x - cx, y - cy) > corner;
      const [r, g, b] = inRing ? MARK : THEME;
      row.set([r, g, b, outside ? 0 : 255], 1 + x * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(outDir, { recursive: true });
const files = {
  'icon-192.png': icon(192, { markScale: 1, rounded: true }),
  'icon-512.png': icon(512, { markScale: 1, rounded: true }),
  'icon-maskable-512.png': icon(512, { markScale: 0.8, rounded: false }),
  'apple-touch-icon-180.png': icon(180, { markScale: 1, rounded: false }),
};
for (const [name, data] of Object.entries(files)) writeFileSync(join(outDir, name), data);
console.log(`wrote ${Object.keys(files).join(', ')} to ${outDir}`);
