// `npm run docs`: rewrites the components reference in README.md from the option schemas.
import { readFileSync, writeFileSync } from 'node:fs';
import { withReference } from './reference.ts';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withReference(readFileSync(readme, 'utf8')));
