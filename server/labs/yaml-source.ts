// A YAML text parsed with node positions kept, so any path into it (e.g. from a zod issue) maps back to
// `file:line:col`. Also splits a markdown file's YAML frontmatter from its body, keeping line numbers true.
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';

export interface LabIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatIssue(i: LabIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.message}`;
}

export type YamlPath = readonly PropertyKey[];

export class YamlSource {
  readonly doc: Document;
  readonly syntaxIssues: LabIssue[];
  private readonly lines = new LineCounter();

  /** `lineOffset`: lines before the YAML text in its file (a frontmatter's opening `---`). */
  constructor(
    readonly file: string,
    text: string,
    private readonly lineOffset = 0,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    this.syntaxIssues = [...this.doc.errors, ...this.doc.warnings].map((e) => {
      const { line, col } = this.at(e.pos[0]);
      return { file, line, col, message: `YAML: ${e.message.split('\n')[0] ?? e.message}` };
    });
  }

  toJS(): unknown {
    return this.doc.toJS();
  }

  private at(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line + this.lineOffset, col: p.col };
  }

  /** Position of the deepest existing node along `path`; with `key`, the position of that key in the map at `path`. */
  pos(path: YamlPath, key?: string): { line: number; col: number } {
    if (key !== undefined) {
      const map = path.length ? this.doc.getIn(path.map(String).map(numeric), true) : this.doc.contents;
      if (isMap(map)) {
        const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isNode(pair.key) && pair.key.range) return this.at(pair.key.range[0]);
      }
    }
    for (let n = path.length; n > 0; n--) {
      const node = this.doc.getIn(path.slice(0, n).map(String).map(numeric), true);
      if (isNode(node) && node.range) return this.at(node.range[0]);
    }
    const root = this.doc.contents;
    if (isNode(root) && root.range) return this.at(root.range[0]);
    return { line: 1 + this.lineOffset, col: 1 };
  }

  issue(path: YamlPath, message: string, key?: string): LabIssue {
    return { file: this.file, ...this.pos(path, key), message };
  }
}

function numeric(segment: string): string | number {
  return /^\d+$/.test(segment) ? Number(segment) : segment;
}

export interface Frontmatter {
  yaml: string;
  /** Lines before the YAML (the opening `---`), to keep positions true. */
  yamlLineOffset: number;
  body: string;
}

/** Splits `---\n<yaml>\n---\n<body>`; null when the file has no frontmatter. */
export function splitFrontmatter(text: string): Frontmatter | null {
  const m = /^---[ \t]*\r?\n([\s\S]*?)^---[ \t]*(?:\r?\n|$)/m.exec(text);
  if (m?.index !== 0) return null;
  return { yaml: m[1] ?? '', yamlLineOffset: 1, body: text.slice(m[0].length) };
}
