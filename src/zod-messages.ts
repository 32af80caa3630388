/**
 * zod/mini ships without messages; give it zod's English ones (only that locale is bundled),
 * so a validation error says what is wrong, not "Invalid input".
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
