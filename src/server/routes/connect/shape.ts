import * as z from 'zod';
import { NO_CONTROL, label } from '../../input.js';

/**
 * What the Connect routes take and show. Tags are the app's labels for a connection (a team,
 * a plan…): string to string, bounded, so a caller cannot grow a row or a page without limit,
 * and keys start with a letter or digit (no `__proto__`).
 */

export const MAX_TAGS = 32;

export const TagKey = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, {
  message: 'a tag key is 1 to 64 of a-z 0-9 _ . - and starts with a letter or digit',
});

export const TagValue = z
  .string()
  .max(255, { message: 'a tag value has at most 255 characters' })
  .regex(NO_CONTROL, { message: 'a tag value must not contain control characters' });

export const Tags = z
  .record(TagKey, TagValue)
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, { message: `at most ${MAX_TAGS} tags` })
  .describe(
    `The app's labels: at most ${MAX_TAGS}, keys [a-z0-9_.-] (64 at most), values 255 characters at most.`,
  );

export const OriginList = z
  .array(z.string().max(2048, { message: 'an origin has at most 2048 characters' }))
  .max(50, { message: 'at most 50 allowed origins' });

export const EndUser = z.strictObject({
  id: label('end_user.id', 255).describe('Your id of the end user: the connection’s user_id.'),
  email: label('end_user.email', 320).optional().describe('Shown on the page.'),
  display_name: label('end_user.display_name', 255).optional().describe('Shown on the page.'),
});
