// Turns each source record (`raw`) into a WorkOS user draft: a provider preset first, then the declarative
// mapping on top, then memberships joined from the org and role mapping files.
import { z } from 'zod';
import { defineStage } from '../pipelines/component.ts';
import { hasErrors, keyOf } from '../pipelines/record.ts';
import { PlainNames, reportColumns } from './map/columns.ts';
import { joinMemberships, MappedMemberships, mappingFile, reportUnmatched, verifyMappingFiles } from './map/memberships.ts';
import { addIssue, applyMapping, compileMapping, mappingOptions } from './mapping.ts';
import { PRESET_NAMES, presets } from './presets/index.ts';

const options = z.object({
  preset: z
    .enum(PRESET_NAMES)
    .optional()
    .describe(`Provider preset applied before \`fields\`: ${PRESET_NAMES.join(' or ')} (none by default)`),
  ...mappingOptions,
  orgs: mappingFile()
    .optional()
    .describe(
      'CSV with header `user_id,org_external_id,org_name` (org_name optional): one line per membership, several lines ' +
        'for a user in several orgs; user_id is matched against the mapped externalId',
    ),
  roles: mappingFile()
    .optional()
    .describe(
      'CSV with header `user_id,org_external_id,role_slug`: one line per role, several lines for several roles in ' +
        'one org; a role in an org missing from `orgs` makes that membership too',
    ),
});

export const mapStage = defineStage({
  name: 'map',
  summary: 'Maps source records onto WorkOS users with a provider preset and declarative field mappings, and joins org and role files.',
  options,
  verify: (options, ctx) => verifyMappingFiles(options.orgs, options.roles, ctx),
  async create(options, ctx) {
    const preset = options.preset === undefined ? undefined : presets[options.preset];
    const mapping = compileMapping(options);
    const memberships = options.orgs === undefined && options.roles === undefined ? undefined : await MappedMemberships.load(options.orgs, options.roles, ctx);

    return async function* mapRecords(input) {
      const plainNames = new PlainNames(ctx);
      let firstRecord = true;
      try {
        for await (const envelope of input) {
          const raw = envelope.raw;
          // A record the source already rejected has nothing trustworthy to map.
          if (hasErrors(envelope)) {
            yield envelope;
            continue;
          }
          if (raw === undefined) {
            addIssue(envelope, 'error', 'map.no_source_record', 'raw', 'the record carries no source fields (raw) to map');
            yield envelope;
            continue;
          }
          plainNames.learn(raw);
          const named = plainNames.named(raw);
          if (firstRecord) reportColumns(envelope, raw, named, preset, mapping, ctx);
          firstRecord = false;
          envelope.user = {};
          preset?.map(named, envelope);
          applyMapping(mapping, named, envelope);
          if (memberships !== undefined) joinMemberships(memberships, envelope.user);
          envelope.key = keyOf(envelope.user, envelope.seq);
          yield envelope;
        }
        if (memberships !== undefined && !ctx.signal.aborted && !ctx.incomplete.signal.aborted) reportUnmatched(memberships, ctx);
      } finally {
        memberships?.close();
      }
    };
  },
});
