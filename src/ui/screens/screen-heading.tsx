import { type ReactNode, useEffect, useRef } from 'react';

/**
 * The screen's h1. It takes focus when the screen mounts, so after a hash navigation a screen reader
 * announces the new screen and keyboard users continue from its top.
 */
export function ScreenHeading({ id, children }: { readonly id: string; readonly children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <h1 id={id} ref={heading} tabIndex={-1} className="screen-heading">
      {children}
    </h1>
  );
}
