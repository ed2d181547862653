import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * Code that ships in a Lambda bundle uses zod's "mini" build (`import * as z from 'zod/mini'`: functions,
 * not methods, so esbuild keeps only what is used — about 26 kB with the messages below instead of about
 * 88 kB for the classic API). Mini ships no messages of its own: every module that parses with it imports
 * this one, which installs the English messages once, so a parse gives the same messages the classic API
 * gives (fieldErrors and loadConfig read "received undefined" and the like from them).
 *
 * Import the namespace from 'zod/mini' directly, never re-exported from here: a re-exported namespace is a
 * value esbuild must keep whole, every locale included.
 */
config(en());
