// Virtual scrolling for tables of fixed-height rows: only the rows in view
// (plus a margin) are in the DOM; spacer rows above and below keep the
// scroll height of the whole table.

export interface Window {
  /** Index of the first row rendered. */
  start: number;
  /** One past the last row rendered. */
  end: number;
  /** Height (px) of the spacer above the rendered rows. */
  before: number;
  /** Height (px) of the spacer below them. */
  after: number;
}

export function visibleWindow(count: number, scrollTop: number, viewport: number, rowHeight: number, overscan = 8): Window {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0, before: 0, after: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + shown + overscan);
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}
