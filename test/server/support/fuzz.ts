import fc from 'fast-check';
import * as v from 'valibot';
import { expect } from 'vitest';
import { ErrorBodySchema, PushResponseSchema } from '../../../src/outbox/protocol/messages';

/**
 * Sends a seeded run of 200 malformed and random push bodies (random text and bytes, random JSON, envelopes
 * around garbage) under assorted content types: each must get a 4xx with the protocol's error body, or a 200
 * refusing every event; never a 5xx. The caller checks that nothing was stored.
 */
export async function fuzzPushBodies(baseUrl: string, headers: Record<string, string>): Promise<void> {
  const json = fc.jsonValue({ maxDepth: 3 });
  const envelopeLike = fc.record(
    {
      protocol: fc.oneof(fc.constant(1), json),
      clientId: fc.oneof(fc.uuid(), json),
      batchId: fc.oneof(fc.uuid(), json),
      // Arbitrary objects are never valid events: whatever is answered, nothing may be stored.
      events: fc.oneof(fc.array(json, { maxLength: 4 }), json),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((raw) => Buffer.from(raw).toString('latin1')),
    json.map((value) => JSON.stringify(value)),
    envelopeLike.map((value) => JSON.stringify(value)),
  );
  const contentType = fc.oneof(
    fc.constant('application/json'),
    fc.constant('application/json; charset=utf-8'),
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', ''),
  );
  await fc.assert(
    fc.asyncProperty(body, contentType, async (payload, type) => {
      const response = await fetch(`${baseUrl}/push`, {
        method: 'POST',
        headers: { ...headers, ...(type ? { 'content-type': type } : {}) },
        body: payload,
      });
      expect(response.status).toBeLessThan(500);
      if (response.status === 200) {
        // A well-formed envelope around garbage events: each one refused on its own.
        const answer = v.parse(PushResponseSchema, await response.json());
        for (const result of answer.results) expect(['rejected', 'retry']).toContain(result.status);
      } else {
        expect(response.status).toBeGreaterThanOrEqual(400);
        v.parse(ErrorBodySchema, await response.json());
      }
    }),
    { seed: 20_261_126, numRuns: 200 },
  );
}
