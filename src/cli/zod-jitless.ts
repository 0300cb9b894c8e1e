/**
 * zod compiles a parser for each object schema (with `new Function`) the first time it
 * parses; code made that way never reaches the compile cache, and a CLI run parses each schema
 * (config, registry, handoff) once: interpreting is cheaper (~5-10 ms per run). Same results;
 * this process only (the bot keeps the compiled parsers for its many handoffs). zod reads the
 * setting when a schema is constructed, so this module is loaded before any that defines one.
 *
 * A module of its own, with a named import, so the CLI bundle keeps only the parts of zod the
 * schemas use (a dynamic `import('zod')` would keep all of it, its 40-odd locales included).
 */
import { config } from 'zod';

config({ jitless: true });
