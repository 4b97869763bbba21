/**
 * Which samples the tests expect: every sample of every language that has a build script.
 * A language whose samples are missing from samples/dist fails the tests, never skips them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../host/src/paths.js';

export const SAMPLE_NAMES = ['hello', 'json', 'fib', 'logger'] as const;
export const LANGUAGES = ['ts', 'rust', 'go', 'python'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Languages whose samples this checkout builds (samples/<lang>/build.sh exists). */
export const BUILT_LANGUAGES: Language[] = LANGUAGES.filter((lang) => existsSync(join(ROOT, 'samples', lang, 'build.sh')));
