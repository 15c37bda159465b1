// What the canvas nodes read besides their own data: problems to mark, live counts, the path a
// simulation took, and the journey settings the trigger node summarizes. Kept out of node data so
// that live updates never touch the persisted graph (or the undo history).
import { createContext, useContext } from 'react';

import type { NodeCounts } from '../api/analytics';
import type { Problem } from '../lib/rules';
import type { JourneySettings } from '../lib/settings';

export interface CanvasInfo {
  problems: Map<string | null, Problem[]>;
  counts: Map<string, NodeCounts> | null;
  path: Set<string> | null;
  settings: JourneySettings;
}

export const CanvasContext = createContext<CanvasInfo>({ problems: new Map(), counts: null, path: null, settings: {} });

export function useCanvasInfo(): CanvasInfo {
  return useContext(CanvasContext);
}
