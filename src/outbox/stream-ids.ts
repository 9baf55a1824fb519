/** Stream ids, apart from the registry, so a list that only maps ids does not load the registry. */

/** `<name>-<uuid>`: the stream id of aggregate `id` of the type named `name`. */
export const streamIdFor = (name: string, id: string): string => `${name}-${id}`;

const STREAM_ID = /^([a-z][a-z0-9]*)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The type name and aggregate id of a well-formed stream id, whatever types the app has; null otherwise. */
export function splitStreamId(streamId: string): { readonly name: string; readonly id: string } | null {
  const match = STREAM_ID.exec(streamId);
  return match?.[1] && match[2] ? { name: match[1], id: match[2] } : null;
}
