import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';

/**
 * What a journey checks on every screen besides its own steps: the accessibility engine's verdict, and that
 * the app said nothing on the console it was not expected to say.
 */

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | null = null;

/** One axe-core rule broken on the page, with where. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly targets: readonly string[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA, and best practices) on the page as it is, and returns the serious and
 * critical violations. The engine is evaluated through the driver, not added as a script tag, so the built
 * page's Content-Security-Policy (own origin only) stays as it is and reports nothing.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(source);
  return page.evaluate(async () => {
    const { axe } = window as unknown as {
      axe: {
        run(
          context: Document,
          options: object,
        ): Promise<{
          violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
        }>;
      };
    };
    const result = await axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact ?? '',
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.join(' ')),
      }));
  });
}

/** Every console error and warning of a context's pages (and uncaught page errors), as they came. */
export interface ConsoleWatch {
  readonly messages: readonly string[];
  /** The messages not matched by any of `expected`. */
  unexpected(expected?: readonly RegExp[]): string[];
}

export function watchConsole(context: BrowserContext): ConsoleWatch {
  const messages: string[] = [];
  const onConsole = (message: ConsoleMessage) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      messages.push(`${message.type()}: ${message.text()} (${message.location().url})`);
    }
  };
  context.on('console', onConsole);
  context.on('weberror', (error) => messages.push(`pageerror: ${error.error().message}`));
  return {
    messages,
    unexpected: (expected = []) => messages.filter((text) => !expected.some((pattern) => pattern.test(text))),
  };
}

/**
 * The page's controls (buttons, links, fields) that a visible element matched by `selector` covers: nothing
 * of the work may sit under a toast.
 */
export function coveredControls(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((cover) => {
    const covers = Array.from(document.querySelectorAll(cover))
      .map((element) => element.getBoundingClientRect())
      .filter((box) => box.width > 0 && box.height > 0);
    const controls = Array.from(document.querySelectorAll('main a, main button, main input, main select'));
    return controls
      .filter((control) => {
        const box = control.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) return false;
        return covers.some(
          (over) =>
            box.left < over.right && box.right > over.left && box.top < over.bottom && box.bottom > over.top,
        );
      })
      .map((control) => control.outerHTML.slice(0, 120));
  }, selector);
}
