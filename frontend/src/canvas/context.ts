// What the canvas nodes read besides their own data: the node types, problems to mark, live
// counts and whether they are live, the path a simulation took, the journey settings the trigger
// node summarizes, and the one edit a node makes itself (renaming an output). Kept out of node data so that live
// updates never touch the persisted graph (or the undo history).
import { createContext, useContext } from 'react';

import type { NodeCounts } from '../api/analytics';
import type { NodeCatalog } from '../lib/node-types';
import type { Problem } from '../lib/rules';
import type { JourneySettings } from '../lib/settings';
import type { LiveMode } from './useLiveCounts';

export interface CanvasInfo {
  /** the node types (GET /node-types) */
  catalog: NodeCatalog;
  problems: Map<string | null, Problem[]>;
  counts: Map<string, NodeCounts> | null;
  path: Set<string> | null;
  settings: JourneySettings;
  /** null when the canvas is read-only (the trigger node edits the entry in place) */
  setSettings: ((settings: JourneySettings) => void) | null;
  live: LiveMode;
  /** null when the canvas is read-only */
  renameHandle: ((nodeId: string, handle: string, label: string) => void) | null;
}

export const CanvasContext = createContext<CanvasInfo>({
  catalog: new Map(),
  problems: new Map(),
  counts: null,
  path: null,
  settings: {},
  setSettings: null,
  live: 'unavailable',
  renameHandle: null,
});

export function useCanvasInfo(): CanvasInfo {
  return useContext(CanvasContext);
}
