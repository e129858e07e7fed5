// Builds an API response from its shared schema (shared/api.ts): the body is typed by the schema, so a
// field renamed there fails the server's build as it fails the client's, and it is checked once more
// before it leaves, so a route that drifts from the contract fails loudly (500, logged) in tests.
import type { Response } from 'express';
import type { z } from 'zod';

export function reply<S extends z.ZodType>(res: Response, schema: S, body: z.input<S>, status = 200): void {
  const checked = schema.safeParse(body);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`response does not match its schema at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? 'invalid'}`);
  }
  // The body as built, not the parse: a loose schema's extra fields (a richer check result) stay.
  res.status(status).json(body);
}
