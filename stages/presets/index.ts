// Mapping presets by name: `map: { preset: clerk }` picks one. A preset is the only place that knows a provider's
// export columns; the `map` stage applies its declarative `fields` on top of it.
import type { Envelope } from '../../pipelines/record.ts';
import type { SourceRecord } from '../mapping.ts';
import { clerkPreset } from './clerk.ts';
import { workosCsvPreset } from './workos-csv.ts';

export interface Preset {
  name: string;
  summary: string;
  /** Columns every export of this kind has: a first record without them is most likely not one. */
  identityColumns: readonly string[];
  /** The other columns every export of this kind has, each with what no user gets when an export lacks it. */
  dataColumns: Readonly<Record<string, string>>;
  /** Columns the preset reads that an export may well lack; a column named like one of them is a misspelling. */
  optionalColumns: readonly string[];
  /** Fills `envelope.user` from the source record; bad cells become issues on the envelope, never throws. */
  map(raw: SourceRecord, envelope: Envelope): void;
}

export const presets = {
  clerk: clerkPreset,
  'workos-csv': workosCsvPreset,
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof presets;

export const PRESET_NAMES = Object.keys(presets) as [PresetName, ...PresetName[]];
