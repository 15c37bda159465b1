// What the canvas may add to a node type the server describes: a card summary, a settings form
// and hint rules. Each lives in one optional file `<type>-node.tsx` here, exporting `ui`; a type
// without one gets the generic card and a form generated from its JSON Schema.
import type { ComponentType } from 'react';

import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';

export type Errors = (field: string) => string[] | undefined;

export interface FormProps {
  config: Config;
  /** merges `patch` into the config; a key the patch sets to undefined is removed */
  set: (patch: Config) => void;
  /** the hints or last Validate's errors for a field of the config */
  errors: Errors;
  /** the journey being edited (a hand-off must not point at it) */
  journeyId: number;
  openSettings: () => void;
}

export interface NodeUi {
  type: string;
  /** the card's one-line summary */
  Summary?: ComponentType<{ data: JourneyNodeData }>;
  /** the card's monogram and type label when they follow the config (a message's channel) */
  card?: (config: Config) => { icon?: string; label?: string };
  /** the settings panel's heading when it follows the config (default: the type's label) */
  panelTitle?: (config: Config) => string;
  /** message nodes show delivery numbers instead of passed: the ones this config's channel has */
  messageCounts?: (config: Config) => string[];
  Form?: ComponentType<FormProps>;
  /** replaces the hints the type's JSON Schema gives */
  hints?: (config: Config) => ConfigProblem[];
}
