/**
 * Reading JUnit back in tests: validation against tests/fixtures/junit/junit.xsd (libxml2's
 * xmllint, compiled to WebAssembly) and parsing into suites and cases.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { validateXML } from 'xmllint-wasm';

const XSD = readFileSync(new URL('../fixtures/junit/junit.xsd', import.meta.url), 'utf8');

/** xmllint's verdict on a JUnit document, with its messages. */
export async function validateJUnit(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: XSD }] });
  return { valid: result.valid, errors: result.errors.map((e) => e.message) };
}

/** One test case as read back. */
export interface ParsedCase {
  suite: string;
  classname: string;
  name: string;
  file?: string;
  line?: number;
  properties: Record<string, string>;
  outcome: 'passed' | 'failure' | 'error' | 'skipped';
  message?: string;
  body?: string;
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

type Node = Record<string, unknown>;

function properties(node: Node | undefined): Record<string, string> {
  const props = list((node?.properties as Node | undefined)?.property as Node | Node[] | undefined);
  return Object.fromEntries(props.map((p) => [String(p['@_name']), String(p['@_value'])]));
}

/** Parses a JUnit document into its suites (with properties) and cases. */
export function parseJUnit(xml: string) {
  const parser = new XMLParser({ ignoreAttributes: false, parseAttributeValue: false, textNodeName: '#text', trimValues: false });
  const root = parser.parse(xml) as { testsuites: Node };
  const suites = list(root.testsuites.testsuite as Node | Node[]).map((suite) => {
    const cases: ParsedCase[] = list(suite.testcase as Node | Node[]).map((c) => {
      const outcomeNode = (['failure', 'error', 'skipped'] as const).find((k) => c[k] !== undefined);
      const detail = outcomeNode ? (list(c[outcomeNode] as Node | Node[] | string)[0] as Node | string) : undefined;
      const detailNode = typeof detail === 'object' ? detail : {};
      return {
        suite: String(suite['@_name']),
        classname: String(c['@_classname']),
        name: String(c['@_name']),
        ...(c['@_file'] ? { file: String(c['@_file']) } : {}),
        ...(c['@_line'] ? { line: Number(c['@_line']) } : {}),
        properties: properties(c),
        outcome: outcomeNode ?? 'passed',
        ...(detailNode['@_message'] !== undefined ? { message: String(detailNode['@_message']) } : {}),
        ...(detailNode['#text'] !== undefined ? { body: String(detailNode['#text']) } : {}),
      };
    });
    return { name: String(suite['@_name']), properties: properties(suite), attributes: suite, cases };
  });
  return { suites, cases: suites.flatMap((s) => s.cases) };
}
