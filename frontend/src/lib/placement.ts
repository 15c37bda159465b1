// Where things go on the canvas without landing on each other: a free spot for a new or pasted
// node, whether a stored layout is packed (nodes on nodes, edges through nodes), and a fit of the
// view that keeps the journey clear of the toolbar, the zoom controls and the minimap.
import { NODE_HEIGHT, NODE_WIDTH } from './layout';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

type Placed = { id: string; position: { x: number; y: number }; measured?: { width?: number; height?: number } };

/** The gap kept between a placed node and its neighbours (the same as Auto arrange's). */
export const GAP = 50;

export function boxOf(n: Placed): Box {
  return { x: n.position.x, y: n.position.y, width: n.measured?.width ?? NODE_WIDTH, height: n.measured?.height ?? NODE_HEIGHT };
}

export function boxesOverlap(a: Box, b: Box, margin = 0): boolean {
  return a.x < b.x + b.width + margin && b.x < a.x + a.width + margin && a.y < b.y + b.height + margin && b.y < a.y + a.height + margin;
}

export function boundsOf(boxes: readonly Box[]): Box | null {
  if (!boxes.length) return null;
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, width: Math.max(...boxes.map((b) => b.x + b.width)) - x, height: Math.max(...boxes.map((b) => b.y + b.height)) - y };
}

/** How far right `moving` must go, from `first` on in steps of `step`, to keep `GAP / 2` from
 * every box in `taken`. */
export function clearShift(moving: readonly Box[], taken: readonly Box[], first: number, step: number): number {
  let dx = first;
  const hits = () => moving.some((m) => taken.some((b) => boxesOverlap({ ...m, x: m.x + dx }, b, GAP / 2)));
  for (let tries = 0; tries < 200 && hits(); tries++) dx += step;
  return dx;
}

/** `want` moved right (a column at a time) until it is clear of every box in `taken`. */
export function freeSpot(taken: readonly Box[], want: Box): { x: number; y: number } {
  return { x: want.x + clearShift([want], taken, 0, want.width + GAP), y: want.y };
}

/** Does the segment from p to q pass through the box (shrunk by `inset` so touching edges do
 * not count)? Segments here are vertical or horizontal, as a step edge draws them. */
function crosses(p: { x: number; y: number }, q: { x: number; y: number }, b: Box, inset = 4): boolean {
  const left = b.x + inset;
  const right = b.x + b.width - inset;
  const top = b.y + inset;
  const bottom = b.y + b.height - inset;
  return Math.max(p.x, q.x) > left && Math.min(p.x, q.x) < right && Math.max(p.y, q.y) > top && Math.min(p.y, q.y) < bottom;
}

type Point = { x: number; y: number };

/** How far an edge's handles stand off before it turns (React Flow's smooth-step default). */
const STANDOFF = 20;
/** Where a step edge may turn across, as a share of the way down: halfway, just under its
 * output, just over its input. */
const STEPS = [0.5, 0, 1];

function stepPath(from: Point, to: Point, step: number): Point[] {
  // Between the stand-offs when there is room for them, else anywhere between the two handles.
  const roomy = to.y - from.y > 2 * STANDOFF;
  const [top, bottom] = roomy ? [from.y + STANDOFF, to.y - STANDOFF] : [from.y, to.y];
  const turn = top + (bottom - top) * step;
  return [from, { x: from.x, y: turn }, { x: to.x, y: turn }, to];
}

/** Where a step edge from `from` (an output, at the bottom of a node) down to `to` (an input, at
 * the top of another) turns so that it passes through none of `boxes`: the first of halfway,
 * under its output, over its input that is clear, or null when none is. An edge going up is
 * React Flow's to route (halfway). */
export function clearStep(from: Point, to: Point, boxes: readonly Box[]): number | null {
  if (to.y <= from.y) return STEPS[0];
  for (const step of STEPS) {
    const path = stepPath(from, to, step);
    if (!boxes.some((b) => path.slice(1).some((q, k) => crosses(path[k], q, b)))) return step;
  }
  return null;
}

/** A stored layout that needs arranging: two nodes on top of each other, or an edge that cannot
 * be drawn without running through a node it does not join. Templates and graphs sent through
 * the API with rough positions look like this. */
export function looksPacked(nodes: readonly Placed[], edges: readonly { source: string; target: string }[]): boolean {
  const boxes = new Map(nodes.map((n) => [n.id, boxOf(n)]));
  const all = [...boxes.entries()];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) if (boxesOverlap(all[i][1], all[j][1], -4)) return true;
  }
  for (const e of edges) {
    const s = boxes.get(e.source);
    const t = boxes.get(e.target);
    if (!s || !t) continue;
    const others = all.filter(([id]) => id !== e.source && id !== e.target).map(([, b]) => b);
    if (clearStep({ x: s.x + s.width / 2, y: s.y + s.height }, { x: t.x + t.width / 2, y: t.y }, others) === null) return true;
  }
  return false;
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/** Sizes, in screen pixels from the canvas's edges, of what floats over it. */
export interface Chrome {
  /** the toolbar along the top: its bottom edge */
  top: number;
  /** zoom controls, bottom left */
  controls: { width: number; height: number };
  /** the minimap, bottom right */
  minimap: { width: number; height: number };
}

const MARGIN = 16;

function fitInto(bounds: Box, area: Box, minZoom: number, maxZoom: number): Viewport {
  const zoom = Math.max(minZoom, Math.min(maxZoom, area.width / bounds.width, area.height / bounds.height));
  return {
    zoom,
    x: area.x + (area.width - bounds.width * zoom) / 2 - bounds.x * zoom,
    y: area.y + (area.height - bounds.height * zoom) / 2 - bounds.y * zoom,
  };
}

/** The viewport that shows all of `bounds` as large as it can (up to `maxZoom`) with none of it
 * under the chrome: either above the band the controls and minimap sit in, or between the
 * columns they sit in, whichever shows the journey larger. */
export function fitClear(bounds: Box, view: { width: number; height: number }, chrome: Chrome, minZoom = 0.1, maxZoom = 1): Viewport {
  const top = chrome.top + MARGIN;
  const band = Math.max(chrome.controls.height, chrome.minimap.height) + MARGIN;
  const above: Box = { x: MARGIN, y: top, width: view.width - 2 * MARGIN, height: view.height - top - band };
  const left = chrome.controls.width + MARGIN;
  const right = chrome.minimap.width + MARGIN;
  const between: Box = { x: left, y: top, width: view.width - left - right, height: view.height - top - MARGIN };
  const options = [above, between].filter((a) => a.width > 0 && a.height > 0).map((a) => fitInto(bounds, a, minZoom, maxZoom));
  if (!options.length) return fitInto(bounds, { x: 0, y: 0, ...view }, minZoom, maxZoom);
  return options.reduce((best, o) => (o.zoom > best.zoom + 1e-6 ? o : best));
}

/** The viewport moved as little as needed for `box` (flow coordinates) to sit inside the view
 * (screen pixels), or null when it is already there. */
export function panToShow(box: Box, viewport: Viewport, view: { width: number; height: number }): Viewport | null {
  const { zoom } = viewport;
  const left = box.x * zoom + viewport.x;
  const top = box.y * zoom + viewport.y;
  const right = left + box.width * zoom;
  const bottom = top + box.height * zoom;
  const shift = (lo: number, hi: number, size: number) => (lo < MARGIN ? MARGIN - lo : hi > size - MARGIN ? Math.max(size - MARGIN - hi, MARGIN - lo) : 0);
  const dx = shift(left, right, view.width);
  const dy = shift(top, bottom, view.height);
  return dx || dy ? { x: viewport.x + dx, y: viewport.y + dy, zoom } : null;
}
