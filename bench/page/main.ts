import { appSeed, bareRound, bareSetup } from './app-path';
import { appendRound, appendSetup, latencyRound } from './append';
import { burstRound } from './bulk';
import { catchUpRound } from './catch-up';
import { drainRun, drainSetup, workboxRound } from './drain';
import { healSeed, workboxHealFill } from './heal';
import { rebuildRound, rebuildSetup } from './rebuild';
import { dropDb } from './setups';

/** What bench/run.mjs calls through page.evaluate, one setup or one round at a time. */
const bench = {
  appendSetup,
  appendRound,
  latencyRound,
  burstRound,
  drainSetup,
  drainRun,
  workboxRound,
  healSeed,
  workboxHealFill,
  rebuildSetup,
  rebuildRound,
  appSeed,
  bareSetup,
  bareRound,
  dropDb,
  catchUpRound,
  userAgent: async () => navigator.userAgent,
};

export type Bench = typeof bench;

declare global {
  interface Window {
    outpostBench?: Bench;
  }
}

window.outpostBench = bench;
