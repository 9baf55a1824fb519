import { describe, expect, it } from 'vitest';
import {
  engineOf,
  type PersistenceState,
  type PersistenceWatch,
  watchPersistence,
} from '../../../src/outbox/page/storage-persistence';
import { type FakeBrowserAnswers, fakePersistence } from '../../support/fake-persistence';

/** Every state the watch went through, and the watch; `settled()` waits for the browser's answers. */
function watch(answers: FakeBrowserAnswers) {
  const port = fakePersistence(answers);
  const states: PersistenceState[] = [];
  const watched = watchPersistence(port, (value) => states.push(value.state));
  const settled = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  const last = () => states.at(-1);
  return { port, watched, states, settled, last };
}

const saveTwice = async (watched: PersistenceWatch) => {
  await watched.saved();
  await watched.saved();
};

describe('asking the browser to keep the data', () => {
  it('asks nothing at start, asks once at the first saved entry, and says the browser did not grant it', async () => {
    const { port, watched, states, settled, last } = watch({ grants: false });
    await settled();
    expect(last()).toBe('not-requested');
    expect(port.persist).not.toHaveBeenCalled();

    await saveTwice(watched);
    expect(port.persist).toHaveBeenCalledTimes(1);
    expect(states).toEqual(['checking', 'not-requested', 'requesting', 'not-granted']);
    expect(port.memory.asked()).toBe(true);
  });

  it('says persistent once the browser grants the first saved entry’s request', async () => {
    const { watched, last } = watch({ grants: true });
    await watched.saved();
    expect(last()).toBe('persistent');
  });

  it('never asks a browser that already keeps the data', async () => {
    const { port, watched, last } = watch({ persisted: true });
    await saveTwice(watched);
    expect(last()).toBe('persistent');
    expect(port.persist).not.toHaveBeenCalled();
  });

  it('does not ask again at the first entry of a later visit, but the person can', async () => {
    const { port, watched, last } = watch({ askedBefore: true, grants: true });
    await watched.saved();
    expect(last()).toBe('not-granted');
    expect(port.persist).not.toHaveBeenCalled();
    await watched.request();
    expect(last()).toBe('persistent');
  });

  it('says unsupported where the browser has nothing to ask, and asks nothing', async () => {
    const { watched, last } = watch({ supported: false });
    await saveTwice(watched);
    await watched.request();
    expect(last()).toBe('unsupported');
  });

  it('says denied when the permission was refused, asks only when the person does, and stays denied', async () => {
    const { port, watched, last } = watch({ permission: 'denied' });
    await watched.saved();
    expect(last()).toBe('denied');
    expect(port.persist).not.toHaveBeenCalled();
    await watched.request();
    expect(port.persist).toHaveBeenCalledTimes(1);
    expect(last()).toBe('denied');
  });

  it('shows the question as requesting until the person answers it (Firefox asks them)', async () => {
    const { port, watched, last, settled } = watch({
      engine: 'firefox',
      grants: 'pending',
      permission: 'prompt',
    });
    const asked = watched.saved();
    await settled();
    expect(last()).toBe('requesting');
    port.answer(true, 'granted');
    await asked;
    expect(last()).toBe('persistent');
  });

  it('asks when the app runs installed, and when the person installs it', async () => {
    const installed = watch({ installed: true, grants: true });
    await installed.settled();
    expect(installed.port.persist).toHaveBeenCalledTimes(1);
    expect(installed.last()).toBe('persistent');

    const browsing = watch({ askedBefore: true, grants: true });
    await browsing.settled();
    expect(browsing.last()).toBe('not-granted');
    browsing.port.install();
    await browsing.settled();
    expect(browsing.last()).toBe('persistent');
  });

  it('takes a browser that cannot say whether it keeps the data for one that makes no promise', async () => {
    const port = fakePersistence();
    const states: PersistenceState[] = [];
    const watched = watchPersistence(
      {
        ...port,
        storage: { persisted: () => Promise.reject(new Error('SecurityError')), persist: port.persist },
      },
      (value) => states.push(value.state),
    );
    await watched.saved();
    expect(states.at(-1)).toBe('unsupported');
  });
});

describe('the engine whose rules apply', () => {
  it.each([
    [
      'Chrome',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
      'chromium',
    ],
    [
      'Edge',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0',
      'chromium',
    ],
    [
      'headless Chromium',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      'chromium',
    ],
    ['Firefox', 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0', 'firefox'],
    [
      'Safari on a Mac',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
      'webkit',
    ],
    [
      'Chrome on an iPhone',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0 Mobile/15E148 Safari/604.1',
      'webkit',
    ],
    [
      'Firefox on an iPhone',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/140.0 Mobile/15E148 Safari/605.1.15',
      'webkit',
    ],
    [
      'WebKitGTK',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15',
      'webkit',
    ],
    ['something else', 'curl/8.0', 'other'],
  ])('reads %s as its engine', (_, userAgent, engine) => {
    expect(engineOf(userAgent)).toBe(engine);
  });
});
