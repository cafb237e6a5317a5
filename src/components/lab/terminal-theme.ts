/**
 * The terminal's colours, light and dark. Every one of the 16 ANSI colours (and the default text)
 * reaches WCAG AA's 4.5:1 against its theme's background, so `ls --color`, kubectl's and the
 * prompt's colours stay readable; the unit tests measure each pair. xterm.js's
 * `minimumContrastRatio` (set in terminal.ts) covers what a palette cannot: dim text, 256-colour
 * and true-colour output, and text on the selection.
 */
import type { ITheme } from '@xterm/xterm';

/** The minimum contrast ratio of text in the terminal (WCAG 2.1 AA, normal-size text). */
export const TERMINAL_MIN_CONTRAST = 4.5;

/** The 16 ANSI colour names of an xterm.js theme. */
export const ANSI_COLOURS = [
  'black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white',
  'brightBlack', 'brightRed', 'brightGreen', 'brightYellow', 'brightBlue', 'brightMagenta', 'brightCyan', 'brightWhite',
] as const satisfies ReadonlyArray<keyof ITheme>;

/** Light theme: GitHub-like darkened hues on white; "white" is a dark grey so it shows at all. */
export const LIGHT_TERMINAL_THEME = {
  background: '#ffffff',
  foreground: '#1f2328',
  cursor: '#1f2328',
  cursorAccent: '#ffffff',
  selectionBackground: '#b6cdf5',
  selectionForeground: '#1f2328',
  black: '#1f2328',
  red: '#c4212c',
  green: '#1a7f37',
  yellow: '#845d00',
  blue: '#0a5ed7',
  magenta: '#8e3fb8',
  cyan: '#0e6f80',
  white: '#59636e',
  brightBlack: '#57606a',
  brightRed: '#a40e26',
  brightGreen: '#116329',
  brightYellow: '#6c4b00',
  brightBlue: '#0349b4',
  brightMagenta: '#6e2a9c',
  brightCyan: '#0b5866',
  brightWhite: '#424a53',
} satisfies ITheme;

/** Dark theme: lightened hues on the page's near-black; "black" is a mid grey so it shows at all. */
export const DARK_TERMINAL_THEME = {
  background: '#17181c',
  foreground: '#e6e6e6',
  cursor: '#e6e6e6',
  cursorAccent: '#17181c',
  selectionBackground: '#33467a',
  selectionForeground: '#ffffff',
  black: '#8b8e96',
  red: '#f47067',
  green: '#57c168',
  yellow: '#e3b341',
  blue: '#6cb6ff',
  magenta: '#dc8be8',
  cyan: '#56c8d8',
  white: '#d0d3d8',
  brightBlack: '#a0a3ab',
  brightRed: '#ff938a',
  brightGreen: '#7ee08c',
  brightYellow: '#f2cc60',
  brightBlue: '#96d0ff',
  brightMagenta: '#e9a8f2',
  brightCyan: '#8ae0ea',
  brightWhite: '#ffffff',
} satisfies ITheme;

/** The terminal theme for the site's theme. */
export function terminalTheme(theme: 'light' | 'dark'): ITheme {
  return theme === 'light' ? LIGHT_TERMINAL_THEME : DARK_TERMINAL_THEME;
}

/** WCAG 2.x relative luminance of a #rrggbb colour. */
export function relativeLuminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.x contrast ratio of two #rrggbb colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [high, low] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

/** Mixes `hex` toward `toward` by `amount` (0: unchanged, 1: `toward`). */
function mix(hex: string, toward: string, amount: number): string {
  const channel = (colour: string, i: number) => parseInt(colour.slice(i, i + 2), 16);
  return `#${[1, 3, 5].map((i) => Math.round(channel(hex, i) + (channel(toward, i) - channel(hex, i)) * amount).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The colour of dim (faint, SGR 2) text in `colour`: as far toward the background as it can go
 * while keeping 4.5:1. xterm.js's DOM renderer draws dim text at half opacity from a stylesheet,
 * which `minimumContrastRatio` does not reach (2.4:1 for most colours on white).
 */
export function dimColour(colour: string, background: string): string {
  let amount = 0.5;
  while (amount > 0 && contrastRatio(mix(colour, background, amount), background) < TERMINAL_MIN_CONTRAST) amount -= 0.05;
  return mix(colour, background, Math.max(amount, 0));
}

/**
 * CSS that replaces xterm.js's half-opacity dim colours with {@link dimColour}s for both themes.
 * Its selectors outrank xterm's generated ones (`.xterm-dom-renderer-owner-N .xterm-rows
 * .xterm-fg-N.xterm-dim`).
 */
export function dimTextStyles(): string {
  return (['light', 'dark'] as const)
    .flatMap((name) => {
      const theme = terminalTheme(name) as Required<Pick<ITheme, 'background' | 'foreground' | (typeof ANSI_COLOURS)[number]>>;
      const scope = `:root[data-theme='${name}'] .terminal .xterm .xterm-rows span.xterm-dim`;
      return [
        `${scope} { color: ${dimColour(theme.foreground, theme.background)}; }`,
        ...ANSI_COLOURS.map((colour, index) => `${scope}.xterm-fg-${index} { color: ${dimColour(theme[colour], theme.background)}; }`),
      ];
    })
    .join('\n');
}
