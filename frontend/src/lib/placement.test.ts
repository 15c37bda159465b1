import { describe, expect, it } from 'vitest';

import { boxesOverlap, clearStep, fitClear, freeSpot, looksPacked, panToShow } from './placement';

const at = (id: string, x: number, y: number) => ({ id, position: { x, y }, measured: { width: 240, height: 100 } });

describe('placement', () => {
  it('finds a spot clear of the nodes already there', () => {
    const taken = [{ x: 0, y: 200, width: 240, height: 100 }];
    const spot = freeSpot(taken, { x: 10, y: 210, width: 240, height: 100 });
    expect(boxesOverlap({ ...spot, width: 240, height: 100 }, taken[0])).toBe(false);
    expect(spot.y).toBe(210);
  });

  it('calls a column with an edge skipping over a node packed, and a laid-out chain not', () => {
    const column = [at('a', 0, 0), at('b', 0, 140), at('c', 0, 280)];
    expect(looksPacked(column, [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }])).toBe(false);
    expect(looksPacked(column, [{ source: 'a', target: 'c' }])).toBe(true);
    expect(looksPacked([at('a', 0, 0), at('b', 20, 30)], [])).toBe(true);
  });

  it('fits a wide journey above the band the minimap and zoom controls sit in', () => {
    const view = { width: 1000, height: 700 };
    const chrome = { top: 50, controls: { width: 50, height: 130 }, minimap: { width: 220, height: 165 } };
    const bounds = { x: 0, y: 0, width: 2000, height: 400 };
    const v = fitClear(bounds, view, chrome);
    const bottom = v.y + bounds.height * v.zoom;
    const right = v.x + bounds.width * v.zoom;
    // Either above the minimap or left of it, and below the toolbar.
    expect(bottom <= view.height - chrome.minimap.height || right <= view.width - chrome.minimap.width).toBe(true);
    expect(v.y).toBeGreaterThanOrEqual(chrome.top);
  });

  it('pans a node into view only when it is out of it', () => {
    const view = { width: 800, height: 600 };
    expect(panToShow({ x: 100, y: 100, width: 240, height: 100 }, { x: 0, y: 0, zoom: 1 }, view)).toBeNull();
    const moved = panToShow({ x: 700, y: 100, width: 240, height: 100 }, { x: 0, y: 0, zoom: 1 }, view)!;
    expect(700 + moved.x + 240).toBeLessThanOrEqual(800);
    expect(moved.y).toBe(0);
  });
});

describe('clearStep', () => {
  const box = { x: 0, y: 150, width: 240, height: 100 };
  it('turns under the output when halfway would cross a step in between', () => {
    // From the middle of a node above, to a node down and left, past `box` on the right.
    expect(clearStep({ x: 120, y: 100 }, { x: 120, y: 400 }, [])).toBe(0.5);
    expect(clearStep({ x: 200, y: 100 }, { x: -200, y: 400 }, [box])).toBe(0);
  });
  it('takes a short drop between close rows as clear', () => {
    expect(clearStep({ x: 120, y: 100 }, { x: 400, y: 125 }, [box])).toBe(0.5);
  });
});
