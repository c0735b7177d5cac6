// The visual check: every screenshot of this run against the previous run's
// of the same name (pixelmatch over pngjs), pages that changed flagged with
// a diff image. A flag is for a person to look at, not a failure: a change
// may be the one intended. The run's screenshots then become the ones the
// next run compares with.

import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/// Share of pixels that may differ (anti-aliasing, a masked time's width)
/// before a page counts as changed.
const TOLERANCE = 0.002;

/// Compares `current` (a folder of PNGs) with `previous`; writes the diff
/// images and `<report>` (JSON), replaces `previous` with `current`, and
/// returns `{ compared, changed, added, removed }` (names).
export function compareScreens(current, previous, diffs, report) {
  const names = readdirSync(current).filter((n) => n.endsWith('.png')).sort();
  const result = { compared: 0, changed: [], added: [], removed: [], baseline: existsSync(previous) };
  mkdirSync(diffs, { recursive: true });
  if (result.baseline) {
    for (const name of names) {
      const before = join(previous, name);
      if (!existsSync(before)) {
        result.added.push(name);
        continue;
      }
      result.compared += 1;
      const a = PNG.sync.read(readFileSync(before));
      const b = PNG.sync.read(readFileSync(join(current, name)));
      if (a.width !== b.width || a.height !== b.height) {
        result.changed.push({ name, why: `size ${a.width}×${a.height} → ${b.width}×${b.height}` });
        continue;
      }
      const diff = new PNG({ width: a.width, height: a.height });
      const differing = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: 0.1 });
      const share = differing / (a.width * a.height);
      if (share > TOLERANCE) {
        writeFileSync(join(diffs, name), PNG.sync.write(diff));
        result.changed.push({ name, why: `${(share * 100).toFixed(2)} % of pixels differ` });
      }
    }
    result.removed = readdirSync(previous).filter((n) => n.endsWith('.png') && !names.includes(n));
  }
  writeFileSync(report, JSON.stringify(result, null, 2));
  rmSync(previous, { recursive: true, force: true });
  cpSync(current, previous, { recursive: true });
  return result;
}
