// `use:` names -> components. Adding a component is one file and one line here.
import type { AfterComponent, SinkComponent, SourceComponent, StageComponent } from './component.ts';
import { csvSource } from '../sources/csv.ts';
import { jsonSource } from '../sources/json.ts';
import { ledgerSource } from '../sources/ledger.ts';
import { ndjsonSource } from '../sources/ndjson.ts';
import { dedupeStage } from '../stages/dedupe.ts';
import { mapStage } from '../stages/map.ts';
import { validateStage } from '../stages/validate.ts';
import { csvSink } from '../sinks/csv.ts';
import { diffStep } from '../sinks/diff.ts';
import { ndjsonSink } from '../sinks/ndjson.ts';
import { workosSink } from '../sinks/workos.ts';

function byName<C extends { name: string }>(...components: C[]): Record<string, C> {
  return Object.fromEntries(components.map((component) => [component.name, component]));
}

export const registry = {
  source: byName<SourceComponent>(csvSource, ndjsonSource, jsonSource, ledgerSource),
  stage: byName<StageComponent>(mapStage, dedupeStage, validateStage),
  sink: byName<SinkComponent>(ndjsonSink, csvSink, workosSink),
  after: byName<AfterComponent>(diffStep),
};

export type ComponentKind = keyof typeof registry;
