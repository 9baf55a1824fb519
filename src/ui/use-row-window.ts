import { type RefObject, useLayoutEffect, useState } from 'react';
import { flushSync } from 'react-dom';

/**
 * The rows of a list of equal rows that a scroller shows, plus `overscan` rows beyond each edge: a list of
 * 10,000 orders keeps only those in the page. Rows of one height make the window arithmetic; a general
 * virtualizer (measured rows, lanes, scrolling to an index) cost the first screen 10 kB of JavaScript.
 */
export interface RowWindowOptions {
  readonly count: number;
  readonly rowHeight: number;
  readonly overscan: number;
  readonly scroller: RefObject<HTMLElement | null>;
  /** The scroller's height until it is measured, so the first render already draws the first rows. */
  readonly initialHeight: number;
}

export interface RowWindow {
  /** The indexes of the rows to draw, in order; none while the scroller is hidden or the list is empty. */
  readonly indexes: readonly number[];
  /** The list's full height, so the scrollbar is that of every row. */
  readonly totalHeight: number;
}

interface View {
  readonly offset: number;
  readonly height: number;
}

export function useRowWindow(options: RowWindowOptions): RowWindow {
  const { count, rowHeight, overscan, scroller } = options;
  const [view, setView] = useState<View>({ offset: 0, height: options.initialHeight });

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    // A new offset redraws only when it brings another row into view (or takes one out).
    const rowsOf = ({ offset, height }: View) =>
      `${Math.floor(offset / rowHeight)}:${Math.ceil((offset + height) / rowHeight)}:${height > 0}`;
    const read = () => {
      const next = { offset: element.scrollTop, height: element.clientHeight };
      setView((shown) => (rowsOf(shown) === rowsOf(next) ? shown : next));
    };
    // Drawn before the scrolled frame is painted, or a fast scroll shows blank space where rows belong.
    const scrolled = () => flushSync(read);
    read();
    element.addEventListener('scroll', scrolled, { passive: true });
    // A hidden scroller measures 0 and shows no row; it is measured again when shown or resized.
    const resized = new ResizeObserver(read);
    resized.observe(element);
    return () => {
      element.removeEventListener('scroll', scrolled);
      resized.disconnect();
    };
  }, [scroller, rowHeight]);

  const totalHeight = count * rowHeight;
  if (count === 0 || view.height <= 0) return { indexes: [], totalHeight };
  // The list may have shrunk under a scroll position its scroller has not reported clamped yet.
  const offset = Math.min(view.offset, Math.max(totalHeight - view.height, 0));
  const first = Math.max(Math.min(Math.floor(offset / rowHeight), count - 1) - overscan, 0);
  const lastInView = Math.min(Math.ceil((offset + view.height) / rowHeight) - 1, count - 1);
  const last = Math.min(lastInView + overscan, count - 1);
  const indexes: number[] = [];
  for (let index = first; index <= last; index++) indexes.push(index);
  return { indexes, totalHeight };
}
