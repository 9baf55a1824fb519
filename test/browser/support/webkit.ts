import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../server/support/server-process';

/**
 * WebKit, Safari's engine: Debian's WebKitGTK (`webkit2gtk-driver`) driven over classic W3C WebDriver with
 * plain `fetch`. MiniBrowser has no headless mode, so it draws on an Xvfb display of its own. Each session is
 * a fresh MiniBrowser with an in-memory profile (own IndexedDB, caches and worker), so scenarios that each
 * take a session never see one another's data.
 *
 * The few WebDriver commands the tests need (a session, a URL, a reload, a script, an element's clear and
 * keys, a screenshot) are wrapped here. Elements are found in the page by role and accessible name as `ui.ts`
 * finds them; typing goes through WebDriver's element commands (real key events), a press through the
 * element's own click (see `click`).
 */

export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER_PATH =
  process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB_PATH = process.env.XVFB_PATH ?? '/usr/bin/Xvfb';

/**
 * Safari has the Storage API (persist, persisted, estimate); MiniBrowser keeps it behind feature flags. A
 * flag MiniBrowser does not know makes it exit, and the session request then hangs: hence `SESSION_TIMEOUT_MS`.
 */
const BROWSER_ARGS = ['--automation', '--features=+StorageAPI,+StorageAPIEstimate'];
const SESSION_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 40_000;
/**
 * Wide enough that the status line never wraps, whatever its phase says: a status that re-wraps as sync
 * phases change moves the screen under the next press.
 */
const SCREEN = { width: 1920, height: 1200 };
/** The W3C name of the key that carries an element reference. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

export interface WebKit {
  /** A new MiniBrowser window with a fresh profile; the window opened before closes (one session at a time). */
  newPage(): Promise<WebKitPage>;
  /** Closes every session, then stops the driver and the display. */
  close(): Promise<void>;
}

/** How a person finds a thing on the screen: its role and accessible name (the label's text, for a field). */
export interface Target {
  readonly role: 'link' | 'button' | 'field' | 'heading' | 'region' | 'list';
  readonly name: string;
  /** A CSS selector of the container to look in (`nav[aria-label="Main"]`); the whole page when absent. */
  readonly within?: string;
}

export interface WebKitPage {
  goto(url: string): Promise<void>;
  /** The browser's reload, as a person presses it. */
  reload(): Promise<void>;
  /**
   * Runs `fn` in the page (serialised with `toString`, so it must be self-contained, like `readDevice`) and
   * resolves with what its promise resolved with.
   */
  evaluate<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T>;
  click(target: Target): Promise<void>;
  /** Clears the field and types `text` into it. */
  fill(target: Target, text: string): Promise<void>;
  /** Resolves once `target` is on the screen; fails after `timeoutMs`. */
  waitFor(target: Target, timeoutMs?: number): Promise<void>;
  /** The text of `target`, with white space collapsed; null when it is not on the screen. */
  textOf(target: Target): Promise<string | null>;
  /** Polls the self-contained in-page `predicate` until it returns true. */
  waitUntil(predicate: () => boolean, description: string, timeoutMs?: number): Promise<void>;
  /** A PNG of the window, for a failure's artifacts. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

type ElementReference = { readonly [ELEMENT_KEY]: string };

/** Starts Xvfb and WebKitWebDriver; fails at once, naming the package, when either is not installed. */
export async function launchWebKit(): Promise<WebKit> {
  for (const [path, pkg] of [
    [WEBKIT_DRIVER_PATH, 'webkit2gtk-driver'],
    [MINIBROWSER_PATH, 'webkit2gtk-driver'],
    [XVFB_PATH, 'xvfb'],
  ] as const) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: the WebKit tests need \`apt-get install -y ${pkg}\``);
    }
  }
  const display = await startDisplay();
  let driver: Driver;
  try {
    driver = await startDriver(display.name);
  } catch (error) {
    await stopProcess(display.process);
    throw error;
  }
  let open: WebKitPage | null = null;
  return {
    async newPage() {
      // WebKitWebDriver runs one session at a time: the previous scenario's window closes first.
      await open?.close().catch(() => undefined);
      open = await openSession(driver.url);
      return open;
    },
    async close() {
      await open?.close().catch(() => undefined);
      await stopProcess(driver.process);
      await stopProcess(display.process);
    },
  };
}

/** An X display nobody else uses: Xvfb picks a free number itself and writes it to fd 3 (`-displayfd`). */
async function startDisplay(): Promise<{ name: string; process: ChildProcess }> {
  const child = spawn(
    XVFB_PATH,
    ['-displayfd', '3', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'],
    {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const number = await new Promise<string>((resolve, reject) => {
    let written = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb gave no display within 10 s: ${stderr}`)), 10_000);
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      written += chunk.toString();
      if (written.includes('\n')) {
        clearTimeout(timer);
        resolve(written.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}): ${stderr}`));
    });
  });
  return { name: `:${number}`, process: child };
}

interface Driver {
  readonly url: string;
  readonly process: ChildProcess;
}

/** WebKitWebDriver on a free loopback port, ready once `/status` answers; a lost race for the port retries. */
async function startDriver(display: string): Promise<Driver> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const child = spawn(WEBKIT_DRIVER_PATH, [`--port=${port}`, '--host=local'], {
      env: { ...process.env, DISPLAY: display },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const url = `http://127.0.0.1:${port}`;
    for (let waited = 0; waited < 10_000 && !exited; waited += 50) {
      try {
        const response = await fetch(`${url}/status`);
        if (response.ok) return { url, process: child };
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    lastError = new Error(`WebKitWebDriver on port ${port} did not answer /status: ${output}`);
    await stopProcess(child);
  }
  throw lastError;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

class WebDriverError extends Error {}

/** One W3C command; a WebDriver error answer becomes an exception naming the command. */
async function command<T>(
  url: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answer = (await response.json()) as {
    value: T | { error: string; message: string };
  };
  if (!response.ok) {
    const error = answer.value as { error: string; message: string };
    throw new WebDriverError(`${method} ${path}: ${error.error}: ${error.message}`);
  }
  return answer.value as T;
}

/**
 * In-page finder, as a script (not a serialised function, which a transpiler could wrap in helpers): the first
 * element with the target's role whose accessible name is the target's name, or null.
 */
const FIND_TARGET = `
const [role, name, within] = arguments;
const root = within ? document.querySelector(within) : document;
if (!root) return null;
const text = (element) => (element.getAttribute('aria-label') || element.textContent || '').replace(/\\s+/g, ' ').trim();
const shown = (element) => element.getClientRects().length > 0;
let candidates = [];
if (role === 'field') {
  candidates = Array.from(root.querySelectorAll('label'))
    .filter((label) => text(label) === name)
    .map((label) => label.control)
    .filter(Boolean);
} else {
  const selector = {
    link: 'a[href]',
    button: 'button',
    heading: 'h1, h2, h3, h4, h5, h6',
    region: 'section[aria-label], [role="region"]',
    list: 'ul[aria-label], ol[aria-label], [role="list"]',
  }[role];
  candidates = Array.from(root.querySelectorAll(selector)).filter((element) => text(element) === name);
}
return candidates.find(shown) || null;
`;

const TEXT_OF_TARGET = `
const found = (function () { ${FIND_TARGET} }).apply(null, arguments);
return found ? (found.textContent || '').replace(/\\s+/g, ' ').trim() : null;
`;

async function openSession(driverUrl: string): Promise<WebKitPage> {
  let created: { sessionId: string };
  try {
    created = await command<{ sessionId: string }>(
      driverUrl,
      'POST',
      '/session',
      {
        capabilities: {
          alwaysMatch: {
            browserName: 'MiniBrowser',
            'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args: BROWSER_ARGS },
          },
        },
      },
      SESSION_TIMEOUT_MS,
    );
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'TimeoutError')) throw error;
    throw new Error(
      `WebKitWebDriver opened no MiniBrowser session within ${SESSION_TIMEOUT_MS / 1000} s ` +
        '(MiniBrowser exits on a flag it does not know, and the request then never answers)',
      { cause: error },
    );
  }
  const session = `/session/${created.sessionId}`;
  const run = <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    command<T>(driverUrl, method, `${session}${path}`, body);
  await run('POST', '/timeouts', { script: 30_000, pageLoad: 30_000, implicit: 0 });
  await run('POST', '/window/rect', { width: SCREEN.width, height: SCREEN.height - 100 });

  const script = <T>(source: string, args: readonly unknown[] = []) =>
    run<T>('POST', '/execute/sync', { script: source, args });
  const find = async (target: Target, timeoutMs = 20_000): Promise<ElementReference> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const element = await script<ElementReference | null>(FIND_TARGET, [
        target.role,
        target.name,
        target.within ?? null,
      ]);
      if (element) return element;
      if (Date.now() > deadline) {
        throw new Error(`No ${target.role} named ${JSON.stringify(target.name)} within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  /** Resolves once the element stayed put over two reads, as Playwright's "stable" check does before a click. */
  const still = async (element: ElementReference): Promise<void> => {
    const where = () =>
      script<string>(
        'const box = arguments[0].getBoundingClientRect(); return [box.x, box.y, box.width, box.height].join();',
        [element],
      );
    let last = await where();
    for (let tries = 0; tries < 20; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = await where();
      if (now === last) return;
      last = now;
    }
  };
  let closed = false;
  const elementPath = (element: ElementReference, action: string) =>
    `/element/${element[ELEMENT_KEY]}/${action}`;

  return {
    async goto(url) {
      await run('POST', '/url', { url });
    },
    async reload() {
      await run('POST', '/refresh', {});
    },
    async evaluate<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T> {
      const answer = await run<{ ok: true; value: T } | { ok: false; error: string }>(
        'POST',
        '/execute/async',
        {
          script: `const done = arguments[arguments.length - 1];
Promise.resolve()
  .then(() => (${fn.toString()}).apply(null, Array.prototype.slice.call(arguments, 0, -1)))
  .then((value) => done({ ok: true, value }), (error) => done({ ok: false, error: String(error && error.stack || error) }));`,
          args,
        },
      );
      if (!answer.ok) throw new Error(`In the page: ${answer.error}`);
      return answer.value;
    },
    async click(target) {
      const element = await find(target);
      await still(element);
      // The element's own click, not WebDriver's Element Click: WebKitGTK's driver simulates the mouse in
      // the browser process, and on a loaded machine (load average 16 here) it moved focus to the button and
      // no click followed, in one order of three; the element's click runs the same handler every time.
      await script('arguments[0].click();', [element]);
    },
    async fill(target, text) {
      const element = await find(target);
      await run('POST', elementPath(element, 'clear'), {});
      await run('POST', elementPath(element, 'value'), { text });
    },
    async waitFor(target, timeoutMs) {
      await find(target, timeoutMs);
    },
    textOf: (target) =>
      script<string | null>(TEXT_OF_TARGET, [target.role, target.name, target.within ?? null]),
    async waitUntil(predicate, description, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await script<boolean>(`return (${predicate.toString()})();`))) {
        if (Date.now() > deadline) throw new Error(`Not true within ${timeoutMs} ms: ${description}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    screenshot: async () => Buffer.from(await run<string>('GET', '/screenshot'), 'base64'),
    async close() {
      if (closed) return;
      closed = true;
      await run('DELETE', '');
    },
  };
}
