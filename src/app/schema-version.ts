/**
 * The database layout this build writes (src/app/schema.ts). Apart from the layout itself so the service
 * worker can check it without Dexie: the worker refuses a database of any other version.
 */
export const SCHEMA_VERSION = 7;
